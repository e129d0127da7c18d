"""Jira Cloud: credential validation, webhook signatures, the pull sync and the adapter (``adapter``).

Its record kinds are declared by ``spec`` and known through the provider registry.
"""
