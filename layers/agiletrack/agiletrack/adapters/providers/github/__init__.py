"""GitHub: REST to validate a repository, GraphQL to pull and complete records, webhooks to stay current.

Light on purpose (the registry imports ``spec`` from here in every function): the adapter lives in ``adapter``.
"""
