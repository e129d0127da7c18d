"""Jira Cloud: credential validation, webhook signatures, the pull sync and the adapter.

Importing the package registers the Jira record kinds with the record store.
"""

from agiletrack.adapters.providers.jira import records as records
