"""Free text of oversight, sealed: a break-the-glass justification, a privacy officer's comment on a
review or a finding, a team leader's explanation of a re-identification.

Such text may name people, so it never enters the audit log; it is stored beside it, encrypted with
AES-256-GCM under the ``FIELD_METADATA`` subkey (not a case key: oversight text belongs to no single
case, and reading it must not unlock a dossier), bound to its table, column and row like personal
fields (``vault.crypto.fields``). The one module outside the gate that opens text
(``tests/gate/test_one_gate.py``); its callers show it to the privacy officer only.
"""

from __future__ import annotations

from vault.crypto.envelope import DataKey
from vault.crypto.fields import decrypt_text, encrypt_text
from vault.crypto.keys import SubkeyPurpose
from vault.runtime import Vault

__all__ = ["open_sealed", "seal"]


def _key(vault: Vault) -> DataKey:
    return DataKey(vault.keys.subkey(SubkeyPurpose.FIELD_METADATA).reveal())


def seal(vault: Vault, *, table: str, column: str, row_id: str, text: str) -> bytes:
    return encrypt_text(_key(vault), table=table, column=column, row_id=row_id, value=text)


def open_sealed(vault: Vault, *, table: str, column: str, row_id: str, sealed: bytes | None) -> str | None:
    if sealed is None:
        return None
    return decrypt_text(_key(vault), table=table, column=column, row_id=row_id, value=sealed)
