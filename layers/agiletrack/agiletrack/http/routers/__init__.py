"""Routers of the API function, one per resource."""
