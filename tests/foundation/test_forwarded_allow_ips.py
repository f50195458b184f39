"""VAULT_FORWARDED_ALLOW_IPS names the reverse proxies whose X-Forwarded-For `vault serve` believes.
The per-address limits on logins, second-factor codes (D17) and the public forms count under that
address, so a network holding clients is refused like '*' (anything wider than /8 IPv4, /32 IPv6),
and what is accepted is handed to uvicorn in the form uvicorn trusts (it parses networks strictly)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from uvicorn.middleware.proxy_headers import _TrustedHosts

from vault.config import Settings, load_settings
from vault.errors import ConfigError


@pytest.mark.parametrize(
    "value",
    [
        "0.0.0.0/0",
        "::/0",
        "10.0.0.1, 0.0.0.0/0",
        "128.0.0.0/1",
        "10.0.0.0/7",
        "2001:db8::/31",
        "::ffff:0:0/96",  # every IPv4 client as an IPv4-mapped address
    ],
)
def test_d17_a_network_wider_than_a_proxy_network_is_refused_like_a_star(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValidationError):
        Settings(forwarded_allow_ips=value)
    monkeypatch.setenv("VAULT_FORWARDED_ALLOW_IPS", value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    message = refused.value.message
    assert message.startswith("VAULT_FORWARDED_ALLOW_IPS: ")
    assert "wider than /" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("value", "handed_on", "proxy", "client"),
    [
        ("10.0.0.5/24", "10.0.0.0/24", "10.0.0.7", "10.0.1.7"),
        ("fd00::1/64", "fd00::/64", "fd00::7", "fd01::7"),
        ("192.168.1.10/30, 127.0.0.1", "192.168.1.8/30,127.0.0.1", "192.168.1.9", "192.168.1.12"),
        ("10.1.2.3/8", "10.0.0.0/8", "10.200.0.1", "11.0.0.1"),  # the widest IPv4 network allowed
        ("2001:db8::1/32", "2001:db8::/32", "2001:db8:ffff::1", "2001:db9::1"),  # the widest IPv6
    ],
)
def test_d17_a_network_written_with_host_bits_is_the_network_uvicorn_trusts(
    value: str, handed_on: str, proxy: str, client: str
) -> None:
    settings = Settings(forwarded_allow_ips=value)
    assert settings.forwarded_allow_ips == handed_on
    trusted = _TrustedHosts(settings.forwarded_allow_ips)  # what `vault serve` hands to uvicorn
    assert proxy in trusted
    assert client not in trusted
