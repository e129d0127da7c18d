"""The SSRF guard on user-supplied provider URLs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agiletrack.adapters.providers.urls import check_provider_url
from agiletrack.errors import ProviderRefused


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/api/v3",
        "https://10.1.2.3",
        "https://192.168.0.10:8443/jira",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/",
        "http://8.8.8.8/api/v3",
        "ftp://8.8.8.8/",
        "https://localhost/",
    ],
)
def test_private_hosts_and_plain_http_are_refused(url: str) -> None:
    with pytest.raises(ProviderRefused) as refused:
        check_provider_url(url, allow_private=False)
    assert refused.value.code == "url_not_allowed"


def test_a_public_https_address_is_allowed() -> None:
    check_provider_url("https://8.8.8.8/api/v3", allow_private=False)


def test_the_local_stack_may_call_fakes_on_loopback() -> None:
    check_provider_url("http://127.0.0.1:8080", allow_private=True)


def _resolves_to(address: str) -> Callable[[str, int], list[str]]:
    return lambda host, port: [address]


@pytest.mark.parametrize(
    "address",
    [
        "::127.0.0.1",  # IPv4-compatible
        "::8.8.8.8",  # IPv4-compatible, deprecated whatever it embeds
        "::ffff:127.0.0.1",  # IPv4-mapped
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::808:808",  # local-use NAT64
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "100.64.0.1",  # shared address space
        "0.0.0.0",
        "::",
        "fd00::1",
        "ff02::1",
    ],
)
def test_every_non_global_address_form_is_refused(address: str) -> None:
    with pytest.raises(ProviderRefused) as refused:
        check_provider_url("https://ghe.example.com/api/v3", allow_private=False, resolver=_resolves_to(address))
    assert refused.value.code == "url_not_allowed"


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_ipv6_forms_of_public_addresses_are_allowed(address: str) -> None:
    check_provider_url("https://ghe.example.com/api/v3", allow_private=False, resolver=_resolves_to(address))


@pytest.mark.parametrize("allow_private", [False, True])
def test_a_user_name_or_password_in_the_url_is_refused_even_locally(allow_private: bool) -> None:
    with pytest.raises(ProviderRefused) as refused:
        check_provider_url("https://u:pw@ghe.example.com/", allow_private=allow_private, resolver=_resolves_to(PUBLIC))
    assert "pw" not in refused.value.message


def test_ports_other_than_443_are_refused_outside_local_mode() -> None:
    with pytest.raises(ProviderRefused):
        check_provider_url("https://ghe.example.com:8443/", allow_private=False, resolver=_resolves_to(PUBLIC))
    check_provider_url("https://ghe.example.com:443/", allow_private=False, resolver=_resolves_to(PUBLIC))
    check_provider_url("http://127.0.0.1:8443/", allow_private=True)


PUBLIC = "8.8.8.8"
