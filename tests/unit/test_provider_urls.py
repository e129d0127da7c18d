"""The SSRF guard on user-supplied provider URLs."""

from __future__ import annotations

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
