"""The HTTP layer of the config and metrics API: routers (thin glue) and the one error mapping."""
