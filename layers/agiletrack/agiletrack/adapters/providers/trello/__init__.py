"""Trello: credential validation and webhook signatures (the pull arrives with its own issue)."""
