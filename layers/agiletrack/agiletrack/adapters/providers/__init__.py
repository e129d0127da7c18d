"""Provider adapters (GitHub, Jira, Trello) behind one interface: ``base.ProviderAdapter``."""
