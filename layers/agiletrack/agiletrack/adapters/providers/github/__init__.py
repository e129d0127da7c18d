"""GitHub: REST to validate a repository, GraphQL to pull and complete records, webhooks to stay current."""

from agiletrack.adapters.providers.github.adapter import GitHubAdapter
from agiletrack.adapters.providers.github.webhooks import merge_pull_request

__all__ = ["GitHubAdapter", "merge_pull_request"]
