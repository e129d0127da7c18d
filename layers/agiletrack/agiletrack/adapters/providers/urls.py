"""Guard against server-side request forgery: provider URLs come from users (GitHub Enterprise roots,
Jira sites), so the service only calls public https hosts unless told otherwise.

The local stack and the tests talk to fake providers on 127.0.0.1 and set
``ALLOW_PRIVATE_PROVIDER_URLS=true``; a deployed stack never does.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from agiletrack.errors import ProviderError, ProviderRefused


def check_provider_url(url: str, *, allow_private: bool) -> None:
    """Refuse a URL whose host is not a public address (or not https), unless ``allow_private``."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host or parts.scheme not in ("https", "http"):
        raise ProviderRefused("url_not_allowed", f"{url!r} is not an http(s) URL.")
    if allow_private:
        return
    if parts.scheme != "https":
        raise ProviderRefused("url_not_allowed", "Provider URLs must use https.")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)}
    except (socket.gaierror, UnicodeError) as exc:
        raise ProviderError(f"The provider host {host} could not be resolved.") from exc
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])
        if not ip.is_global:
            raise ProviderRefused(
                "url_not_allowed", f"{host} resolves to a private or reserved address; only public hosts are allowed."
            )
