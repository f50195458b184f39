"""D18: the HSM's session going away does not take the vault down until someone restarts it.

A network HSM restarts, a load balancer drops the connection, the PKCS#11 library is reset: every
session handle becomes invalid. The provider used to keep its dead session and answer every read with
503 for good. Now the next call logs in again (at most once a second), finds the KEK objects anew and
is tried once more. Real SoftHSM2 token; the library is reset with ``C_Finalize``/``C_Initialize``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pkcs11
import pytest

from tests.helpers import worker_with_document
from tests.keys.conftest import Hsm
from vault.config import Settings
from vault.context import FrozenClock
from vault.crypto.keys import WrappedKey
from vault.crypto.providers import ProviderSpec, open_provider
from vault.errors import Integrity, Unavailable
from vault.services.documents import read_document
from vault.services.setup import initialise

KEY = bytes(range(32))


def _reset_the_library(hsm: Hsm) -> None:
    """Every session of this process is gone, as after an HSM restart (``C_Finalize``, ``C_Initialize``)."""
    pkcs11.lib(hsm.module).reinitialize()


def _spec(hsm: Hsm) -> ProviderSpec:
    return ProviderSpec(
        kind="pkcs11",
        module=hsm.module,
        token_label=hsm.token_label,
        pin=hsm.pin,
        key_label=f"t{uuid.uuid4().hex[:12]}",
    )


def _change_pin(hsm: Hsm, old: str, new: str) -> None:
    token = pkcs11.lib(hsm.module).get_token(token_label=hsm.token_label)
    session = token.open(user_pin=old, rw=True)
    try:
        session.set_pin(old, new)
    finally:
        session.close()


def test_d18_wrapping_and_unwrapping_go_on_after_the_hsm_session_went_away(hsm: Hsm) -> None:
    spec = _spec(hsm)
    open_provider(spec, create_version=1).close()
    provider = open_provider(spec)
    try:
        wrapped = provider.wrap(KEY, purpose="dek", context_id="case-A", version=1)
        _reset_the_library(hsm)
        assert provider.unwrap(wrapped, purpose="dek", context_id="case-A") == KEY
        _reset_the_library(hsm)
        again = provider.wrap(KEY, purpose="dek", context_id="case-B", version=1)
        assert provider.unwrap(again, purpose="dek", context_id="case-B") == KEY
        # The new session checks as strictly as the old one: another case's context, a changed blob.
        with pytest.raises(Integrity):
            provider.unwrap(wrapped, purpose="dek", context_id="case-B")
        altered = WrappedKey(1, wrapped.blob[:-1] + bytes([wrapped.blob[-1] ^ 1]))
        with pytest.raises(Integrity):
            provider.unwrap(altered, purpose="dek", context_id="case-A")
        assert provider.versions() == [1]
    finally:
        provider.close()


def test_d18_a_running_vault_reads_a_document_after_the_hsm_session_went_away(
    settings_for: Callable[[str], Settings], hsm: Hsm, clock: FrozenClock
) -> None:
    vault = initialise(settings_for("pkcs11"), clock=clock)
    try:
        ctx, doc = worker_with_document(vault, b"verslag van het huisbezoek")
        _reset_the_library(hsm)
        assert b"".join(read_document(vault, ctx, doc).chunks) == b"verslag van het huisbezoek"
    finally:
        vault.close()


def test_d18_while_the_token_refuses_the_login_the_answer_is_unavailable_and_then_it_recovers(
    hsm: Hsm,
) -> None:
    spec = _spec(hsm)
    open_provider(spec, create_version=1).close()
    provider = open_provider(spec)
    try:
        wrapped = provider.wrap(KEY, purpose="dek", context_id="case-A", version=1)
        _reset_the_library(hsm)
        _change_pin(hsm, hsm.pin, "98765432")  # the vault's PIN no longer logs in
        try:
            with pytest.raises(Unavailable) as refused:
                provider.unwrap(wrapped, purpose="dek", context_id="case-A")
            assert hsm.pin not in str(refused.value)
            assert "98765432" not in str(refused.value)
        finally:
            _change_pin(hsm, "98765432", hsm.pin)
        time.sleep(1.1)  # after a failed login the next attempt waits a second
        assert provider.unwrap(wrapped, purpose="dek", context_id="case-A") == KEY
    finally:
        provider.close()
