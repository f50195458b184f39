"""The OpenBao provider adopts only a transit key fit to hold the vault's KEKs, and sends its token only
where it cannot be read on the way (D18 key management).

Against the real OpenBao dev server of ``tests/keys/conftest.py``. A transit key that is not ``derived``
ignores the derivation context, so case A's wrapped key opens as case B's; an ``exportable`` key, or one
that allows a plaintext backup, lets the KEKs leave the engine. Plain ``http://`` to another machine
puts the token and every key sent for wrapping on the network in clear.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.keys.conftest import Bao
from vault.crypto.envelope import DEK_PURPOSE
from vault.crypto.keys import Keys
from vault.crypto.openbao import OpenBaoKeyProvider
from vault.crypto.providers import ProviderSpec, open_provider
from vault.errors import ConfigError, Integrity, Unavailable

KEY = b"k" * 32


def _admin(bao: Bao) -> httpx.Client:
    return httpx.Client(base_url=bao.addr, trust_env=False, headers={"X-Vault-Token": bao.token})


def _precreate(bao: Bao, **params: object) -> str:
    name = f"t{uuid.uuid4().hex[:12]}"
    with _admin(bao) as client:
        r = client.post(f"/v1/transit/keys/{name}", json={"type": "aes256-gcm96", **params})
        assert r.status_code in (200, 204), r.text
    return name


def _refusal(bao: Bao, name: str, *, create: bool = False) -> str:
    spec = ProviderSpec(kind="openbao", addr=bao.addr, token=bao.token, key_name=name)
    with pytest.raises(ConfigError) as err:
        open_provider(spec, allow_empty=create).close()
    message = err.value.message
    assert "\n" not in message
    assert bao.token not in message
    return message


# -- the transit key's properties -----------------------------------------------------------------


def test_d18_openbao_refuses_at_start_up_a_transit_key_that_is_not_derived(openbao: Bao) -> None:
    name = _precreate(openbao, derived=False)
    message = _refusal(openbao, name)
    assert message.startswith(
        f"VAULT_KEY_PROVIDER: openbao: the transit key transit/{name} has derived=false;"
    )
    assert "vault keys migrate --to openbao:key=" in message  # how to fix it
    # Nor as the target of a migration or `vault init` (``create``): an existing key is checked too.
    assert "derived=false" in _refusal(openbao, name, create=True)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"derived": True, "exportable": True}, "exportable=true"),
        (
            {"derived": True, "exportable": True, "allow_plaintext_backup": True},
            "exportable=true, allow_plaintext_backup=true",
        ),
        ({"derived": True, "type": "chacha20-poly1305"}, "type=chacha20-poly1305"),
    ],
)
def test_d18_openbao_refuses_at_start_up_a_transit_key_that_can_leave_the_engine_or_is_of_another_type(
    openbao: Bao, params: dict[str, object], named: str
) -> None:
    assert f"has {named};" in _refusal(openbao, _precreate(openbao, **params))


def test_d18_openbao_key_the_vault_creates_is_accepted_and_binds_each_wrapped_key_to_its_case(
    openbao: Bao,
) -> None:
    spec = ProviderSpec(
        kind="openbao", addr=openbao.addr, token=openbao.token, key_name=f"t{uuid.uuid4().hex[:12]}"
    )
    open_provider(spec, create_version=1).close()
    keys = Keys(open_provider(spec))
    try:
        wrapped = keys.wrap(KEY, purpose=DEK_PURPOSE, context_id="case-A")
        assert keys.unwrap(wrapped, purpose=DEK_PURPOSE, context_id="case-A") == KEY
        with pytest.raises(Integrity):
            keys.unwrap(wrapped, purpose=DEK_PURPOSE, context_id="case-B")
    finally:
        keys.close()


def test_d18_openbao_key_made_exportable_while_the_vault_runs_is_refused_on_reload_and_rotation(
    openbao: Bao,
) -> None:
    spec = ProviderSpec(
        kind="openbao", addr=openbao.addr, token=openbao.token, key_name=f"t{uuid.uuid4().hex[:12]}"
    )
    open_provider(spec, create_version=1).close()
    keys = Keys(open_provider(spec))
    try:
        keys.reload()  # fit: nothing happens
        with _admin(openbao) as client:
            r = client.post(f"/v1/transit/keys/{spec.key_name}/config", json={"exportable": True})
            assert r.status_code in (200, 204), r.text
        with pytest.raises(Unavailable, match="exportable=true") as err:
            keys.reload()
        assert openbao.token not in str(err.value)
        with pytest.raises(Unavailable, match="exportable=true"):
            keys.rotate()
        assert keys.versions() == [1]  # the refused rotation made no version
    finally:
        keys.close()
    assert "exportable=true" in _refusal(openbao, spec.key_name)


# -- the address ----------------------------------------------------------------------------------


def _outward_address() -> str:
    """This machine's address on a non-loopback interface (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))
        except OSError:
            pytest.skip("!!! no non-loopback interface: the plain-http refusal is not exercised !!!")
        address = str(sock.getsockname()[0])
    if address.startswith("127."):
        pytest.skip("!!! no non-loopback interface: the plain-http refusal is not exercised !!!")
    return address


@pytest.fixture
def listener() -> Iterator[tuple[str, list[bytes]]]:
    """A TCP listener on a non-loopback address of this machine that records what reaches it."""
    address = _outward_address()
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind((address, 0))
    server.listen(4)
    server.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    received.append(conn.recv(65536))
                    conn.sendall(b'HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n{"data":{}}')
                except OSError:
                    pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"{address}:{server.getsockname()[1]}", received
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


def test_d18_openbao_token_is_never_sent_over_plain_http_to_another_machine(
    listener: tuple[str, list[bytes]],
) -> None:
    hostport, received = listener
    token = f"s.{uuid.uuid4().hex}"
    with pytest.raises(ConfigError) as err:
        OpenBaoKeyProvider.open(addr=f"http://{hostport}", token=token, mount="transit", key="vault-kek")
    assert "plain http://" in err.value.message
    assert "use https://" in err.value.message
    assert token not in err.value.message
    # The same address over https is tried (and fails the TLS handshake with this listener): the
    # refusal is about plain http, and it came before anything was sent.
    with pytest.raises(ConfigError):
        OpenBaoKeyProvider.open(
            addr=f"https://{hostport}", token=token, mount="transit", key="vault-kek", timeout=2
        )
    assert all(token.encode() not in chunk for chunk in received)
    assert received, "the https attempt should have reached the listener (the test would prove nothing)"


def _open_problem(addr: str) -> str:
    """The start-up error for ``addr`` (nothing listens on port 9 of this machine)."""
    with pytest.raises(ConfigError) as err:
        OpenBaoKeyProvider.open(addr=addr, token="s.token", mount="transit", key="vault-kek", timeout=1)
    return err.value.message


def test_openbao_plain_http_only_to_this_machine(openbao: Bao) -> None:
    for fine in ("http://127.0.0.1:9", "http://127.1.2.3:9", "http://[::1]:9/", "http://LocalHost:9"):
        assert "cannot be reached" in _open_problem(fine), fine  # tried: not refused for plain http
    assert "cannot be reached" in _open_problem("https://127.0.0.1:9")
    for refused in ("http://10.0.0.5:9", "http://0x7f000001:9", "http://127.0.0.1.example.nl:9"):
        assert "plain http://" in _open_problem(refused), refused
    # The loopback dev server itself is used.
    spec = ProviderSpec(
        kind="openbao", addr=openbao.addr, token=openbao.token, key_name=f"t{uuid.uuid4().hex[:12]}"
    )
    open_provider(spec, create_version=1).close()


def test_openbao_address_with_a_password_is_refused_and_never_echoed() -> None:
    for addr in ("https://admin:hunter2@bao.example.nl:8200", "http://admin:hunter2@127.0.0.1:8200"):
        with pytest.raises(ConfigError) as err:
            OpenBaoKeyProvider.open(addr=addr, token="s.token", mount="transit", key="vault-kek")
        assert "hunter2" not in err.value.message
        assert "admin" not in err.value.message
        assert "user name or password" in err.value.message


def test_cli_refuses_a_plain_http_or_password_openbao_address_in_one_line_without_echoing_it() -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    for addr, expected in [
        ("http://192.0.2.10:8200", "error: VAULT_OPENBAO_ADDR: Value error, is plain http:// to a host"),
        (
            "https://admin:hunter2@bao.example.nl",
            "error: VAULT_OPENBAO_ADDR: Value error, must not hold a user",
        ),
    ]:
        env = {
            **base,
            "VAULT_KEY_PROVIDER": "openbao",
            "VAULT_OPENBAO_ADDR": addr,
            "VAULT_OPENBAO_TOKEN": "s.x",
        }
        done = subprocess.run(
            [sys.executable, "-m", "vault.cli.main", "keys", "status"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith(expected), done.stderr
        assert "hunter2" not in done.stderr + done.stdout
        assert "192.0.2.10" not in done.stderr
