"""Fake providers served over HTTP on 127.0.0.1, so adapters are tested through their real HTTP client."""
