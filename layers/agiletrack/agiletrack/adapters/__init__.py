"""Adapters: one module per AWS resource (``aws``) and one package per provider (``providers``)."""
