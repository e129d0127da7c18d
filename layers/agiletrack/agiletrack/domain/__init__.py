"""Business logic, written against the small ports in ``agiletrack.domain.ports``."""
