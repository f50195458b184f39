"""D18: the PKCS#11 provider adopts as a KEK only a token object that can never leave the token.

Any secret-key object labelled ``<label>-<v>`` used to be taken as KEK version v, also one made
extractable and readable (by an operator's mistake, or by someone with the PIN who wants a KEK they
can export later). Such an object stops the start-up with one line, and a reload that meets one
(another process put it there) answers 503: nothing is wrapped under it.
"""

from __future__ import annotations

import uuid

import pkcs11
import pytest
from pkcs11 import Attribute, KeyType

from tests.keys.conftest import Hsm
from vault.crypto.providers import ProviderSpec, open_provider
from vault.errors import ConfigError, Unavailable


def _spec(hsm: Hsm, label: str) -> ProviderSpec:
    return ProviderSpec(
        kind="pkcs11", module=hsm.module, token_label=hsm.token_label, pin=hsm.pin, key_label=label
    )


def _put_object(
    hsm: Hsm,
    label: str,
    template: dict[Attribute, object],
    key_type: KeyType = KeyType.AES,
    *,
    logged_in: bool = False,
) -> None:
    """A secret-key object on the token; ``logged_in``: this process is already (the provider)."""
    token = pkcs11.lib(hsm.module).get_token(token_label=hsm.token_label)
    with token.open(user_pin=None if logged_in else hsm.pin, rw=True) as session:
        session.generate_key(key_type, 256, label=label, store=True, template=template)


@pytest.mark.parametrize(
    ("template", "key_type"),
    [
        ({Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True}, KeyType.AES),
        ({Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: True}, KeyType.AES),
        ({Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: False}, KeyType.AES),
        ({Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False}, KeyType.GENERIC_SECRET),
    ],
    ids=["readable-and-extractable", "extractable", "readable", "not-aes"],
)
def test_d18_pkcs11_refuses_at_start_up_a_kek_object_that_could_leave_the_token(
    hsm: Hsm, template: dict[Attribute, object], key_type: KeyType
) -> None:
    label = f"t{uuid.uuid4().hex[:12]}"
    _put_object(hsm, f"{label}-1", {Attribute.ENCRYPT: True, Attribute.DECRYPT: True, **template}, key_type)
    with pytest.raises(ConfigError) as refused:
        open_provider(_spec(hsm, label))
    message = str(refused.value)
    assert message.startswith("VAULT_KEY_PROVIDER: pkcs11: the token object")
    assert "\n" not in message
    assert hsm.pin not in message


def test_d18_pkcs11_reload_that_meets_an_extractable_kek_is_unavailable_and_keeps_the_good_ones(
    hsm: Hsm,
) -> None:
    label = f"t{uuid.uuid4().hex[:12]}"
    provider = open_provider(_spec(hsm, label), create_version=1)
    try:
        assert provider.versions() == [1]
        _put_object(
            hsm, f"{label}-2", {Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True}, logged_in=True
        )
        with pytest.raises(Unavailable):
            provider.reload()
        assert provider.versions() == [1]  # nothing adopted: no key is ever wrapped under version 2
    finally:
        provider.close()
