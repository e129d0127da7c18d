"""Trello: validation, the pull, webhooks and the metrics of one board (see ``adapter.py``)."""
