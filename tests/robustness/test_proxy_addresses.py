"""Which client address the rate limits count under (D17, intake limits), on a real `vault serve`.

By default no X-Forwarded-For is believed, not even from 127.0.0.1 (uvicorn's own default would
believe a local proxy, which passes a client's header on: the client would choose its own key).
Behind a load balancer, VAULT_FORWARDED_ALLOW_IPS names it, and each client counts on its own.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.foundation.test_cli import _env, run_cli
from tests.robustness.support import start_server
from vault.models import AuthAttempt
from vault.runtime import Vault


def _client_keys_after_guesses(vault: Vault, tmp_path: Path, **env: str) -> set[str | None]:
    server = start_server(vault, tmp_path, name="proxy", **env)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            for address in ("198.51.100.7", "203.0.113.9"):
                r = http.post(
                    "/api/v1/auth/login",
                    json={"username": "niemand", "password": "fout"},
                    headers={"X-Forwarded-For": address},
                )
                assert r.status_code == 401, r.text
    finally:
        server.stop()
    with vault.db.session() as session:
        keys = set(session.scalars(select(AuthAttempt.client_key)))
        session.execute(AuthAttempt.__table__.delete())
    return keys


def test_d17_a_forwarded_address_is_believed_only_from_the_proxies_named(
    vault: Vault, tmp_path: Path
) -> None:
    assert len(_client_keys_after_guesses(vault, tmp_path)) == 1, "a header nobody vouches for is ignored"
    named = _client_keys_after_guesses(vault, tmp_path, VAULT_FORWARDED_ALLOW_IPS="127.0.0.1")
    assert len(named) == 2, "behind the named proxy each client counts under its own address"
    assert None not in named


@pytest.mark.parametrize("value", ["*", "proxy.example", "127.0.0.1, 10.0.0.0/33"])
def test_only_addresses_and_networks_name_a_proxy(vault: Vault, value: str) -> None:
    done = run_cli(
        ["serve"],
        {
            **_env(vault.settings.home, vault.settings.url.render_as_string(hide_password=False)),
            "VAULT_FORWARDED_ALLOW_IPS": value,
        },
    )
    assert done.returncode == 2, done.stderr
    assert "VAULT_FORWARDED_ALLOW_IPS" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("port", ["0", "99999"])
def test_a_port_out_of_range_is_a_usage_error(vault: Vault, port: str) -> None:
    done = run_cli(
        ["serve", "--port", port],
        _env(vault.settings.home, vault.settings.url.render_as_string(hide_password=False)),
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
