"""Guard against server-side request forgery: provider URLs come from users (GitHub Enterprise roots,
Jira sites), so the service only calls public https hosts on port 443 unless told otherwise.

``check_provider_url`` refuses a URL early (scheme, user info, port, where its host resolves to); the HTTP
transport (``agiletrack.adapters.providers.pinned``) checks again the addresses it actually connects to,
so a name that resolves differently a moment later (DNS rebinding) cannot reach a private address.

The local stack and the tests talk to fake providers on 127.0.0.1 (http or https, any port) and set
``ALLOW_PRIVATE_PROVIDER_URLS=true``; a deployed stack never does.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from agiletrack.errors import ProviderError, ProviderRefused

Resolver = Callable[[str, int], Sequence[str]]
"""``resolver(host, port)``: the IP addresses to connect to, in order; ``OSError`` when there are none."""

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    """Whether ``address`` is a global unicast address, IPv4 forms embedded in IPv6 included: an
    IPv4-mapped, 6to4 or NAT64 (``64:ff9b::/96``) address is public only if its IPv4 address is;
    IPv4-compatible (``::a.b.c.d``, deprecated) and local-use NAT64 (``64:ff9b:1::/48``) never are."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if not ip.is_global or ip.is_multicast:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _IPV4_COMPATIBLE or ip in _LOCAL_NAT64:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(str(embedded))
    return True


def checked_addresses(host: str, port: int, *, allow_private: bool, resolver: Resolver) -> list[str]:
    """``host`` resolved once; every address must be public (unless ``allow_private``), else
    ``ProviderRefused``. A name that does not resolve is ``ProviderError``."""
    try:
        addresses = list(resolver(host, port))
    except (OSError, UnicodeError) as exc:
        raise ProviderError(f"The provider host {host} could not be resolved.") from exc
    if not addresses:
        raise ProviderError(f"The provider host {host} could not be resolved.")
    if not allow_private and not all(is_public_address(a) for a in addresses):
        raise ProviderRefused(
            "url_not_allowed", f"{host} resolves to a private or reserved address; only public hosts are allowed."
        )
    return addresses


def check_provider_url(url: str, *, allow_private: bool, resolver: Resolver = system_resolver) -> None:
    """Refuse a URL that is not http(s) or carries a user name or password; outside local mode also one
    that is not https on port 443 or whose host resolves to anything but public addresses."""
    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ProviderRefused("url_not_allowed", "The provider URL has an invalid port.") from exc
    if not host or parts.scheme not in ("https", "http"):
        raise ProviderRefused("url_not_allowed", "The provider URL is not an http(s) URL.")
    if parts.username is not None or parts.password is not None:
        raise ProviderRefused("url_not_allowed", "Provider URLs must not contain a user name or password.")
    if allow_private:
        return
    if parts.scheme != "https":
        raise ProviderRefused("url_not_allowed", "Provider URLs must use https.")
    if port not in (None, 443):
        raise ProviderRefused("url_not_allowed", "Provider URLs must use the https port, 443.")
    checked_addresses(host, 443, allow_private=False, resolver=resolver)
