"""D18, D22, D12: sealing the purposes of disclosures made before migration 0027 (``vault keys
seal-purposes``).

Since 0027 a grant's purpose (free text staff typed; it can name the family) is sealed under the case
key in ``grants.purpose_enc`` and the clear ``purpose`` is "". A migration cannot reach the case keys,
so grants made before kept their purpose in clear: readable in the database and in every backup even
after the case key is erased. This operator task seals them with the service's own binding
(``disclosures.seal_purpose``), so readers (``opened_purpose``, ``gate.partner_texts``) open them as any
newer grant. It is a system task, not a person's read of content: the case key is unwrapped as the
write paths and key administration do (``keyring.unwrap_case_key``), nothing is shown to anyone, and
one ``system:keys:rewrapped`` entry per run records counts only (object type ``grants``).

A destroyed case's grants were blanked by its destruction (``destruction_ends.close_grants``); one that
still holds a clear purpose is blanked here, never sealed (its key is gone, and must stay gone).

Batches of ``BATCH_SIZE`` grants, one transaction each: a crash leaves every grant sealed or clear,
never half, and the rerun picks up what is left; a rerun after a complete run seals 0. Each grant is
changed by one conditional UPDATE (only while it still holds that clear purpose and nothing sealed): a
destruction that blanked it meanwhile wins (PostgreSQL re-checks the condition on the row it waited
for). A case key the provider cannot open stops the run: that batch rolls back whole, the run's entry
records what the earlier batches sealed, and the error names the case (an id) and no text.

On SQLite the WAL is checkpointed after a run that changed rows (``Database.scrub_erased``), so the
replaced text leaves the vault's files (``secure_delete`` zeroes the freed cells). PostgreSQL keeps dead
row versions until vacuumed and reused, and a backup taken before the run keeps the clear text until
it expires: the run ends the clear copies from then on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CursorResult, Row, func, select, update
from sqlalchemy.orm import Session

from vault.audit import record
from vault.context import Context
from vault.crypto.envelope import DataKey
from vault.crypto.keys import WrappedKey
from vault.domain import AuditTag
from vault.errors import Integrity, Unavailable, VaultError
from vault.models import Case, CaseKey, Grant
from vault.runtime import Vault
from vault.services.disclosures import seal_purpose
from vault.services.keyring import unwrap_case_key

__all__ = ["BATCH_SIZE", "PurposeSealing", "seal_legacy_purposes", "unsealed_purposes"]

BATCH_SIZE = 200

# A grant with a clear purpose: id, case id, purpose, its case's destroyed_at and wrapped key (outer
# joined: version and blob are None for a case without a key).
_Legacy = Row[str, str, str, datetime | None, int, bytes]


@dataclass(frozen=True)
class PurposeSealing:
    """What a run did: purposes sealed under their case key, and purposes of destroyed cases blanked."""

    sealed: int
    blanked: int


class _KeyNotOpened(Exception):
    """A case key the provider could not open; carries the case id and the provider's error."""

    def __init__(self, case_id: str, error: VaultError) -> None:
        super().__init__(case_id)
        self.case_id = case_id
        self.error = error


def seal_legacy_purposes(vault: Vault, ctx: Context, *, batch_size: int = BATCH_SIZE) -> PurposeSealing:
    """Seal every clear purpose of a grant of a live case, blank those of destroyed cases (see the
    module's docstring); one committed batch at a time, then one audit entry with the counts.

    A case key that does not open raises ``Integrity`` (``Unavailable`` when the provider is out of
    reach), one line with the case's id and the count, after the entry for what was done; nothing of
    the failed batch is written."""
    sealed = blanked = 0
    after = ""  # keyset: every batch moves past its grants, so an odd row can never loop
    while True:
        try:
            with vault.db.session() as session:
                rows = _next_batch(session, after, batch_size)
                done = _seal_batch(session, vault, rows)
        except _KeyNotOpened as failed:
            _finish(vault, ctx, PurposeSealing(sealed, blanked), complete=False)
            kind = Unavailable if isinstance(failed.error, Unavailable) else Integrity
            raise kind(
                f"the key provider could not open the case key of case {failed.case_id} "
                f"({failed.error.code}): nothing of its batch was changed, {sealed} disclosure purposes "
                "sealed before it; check the key provider and run `vault keys seal-purposes` again"
            ) from None
        if not rows:
            break
        sealed, blanked = sealed + done.sealed, blanked + done.blanked
        after = rows[-1].id
    result = PurposeSealing(sealed, blanked)
    _finish(vault, ctx, result, complete=True)
    return result


def _finish(vault: Vault, ctx: Context, done: PurposeSealing, *, complete: bool) -> None:
    """SQLite: the replaced clear purposes leave the WAL and the main file (``scrub_erased``, as after a
    destruction); then the run's entry."""
    if done.sealed or done.blanked:
        vault.db.scrub_erased()
    _record_run(vault, ctx, done, complete=complete)


def unsealed_purposes(session: Session) -> int:
    """How many grants ``seal_legacy_purposes`` would still seal or blank (a count, never a purpose):
    the same grants its batches select."""
    stmt = (
        select(func.count())
        .select_from(Grant)
        .join(Case, Case.id == Grant.case_id)
        .where(Grant.purpose != "", Grant.purpose_enc.is_(None))
    )
    return int(session.execute(stmt).scalar_one())


def _next_batch(session: Session, after: str, size: int) -> Sequence[_Legacy]:
    """The next grants (by id) with a clear purpose and nothing sealed, with their case's state and
    wrapped key (one query)."""
    stmt = (
        select(
            Grant.id,
            Grant.case_id,
            Grant.purpose,
            Case.destroyed_at,
            CaseKey.kek_version,
            CaseKey.wrapped,
        )
        .join(Case, Case.id == Grant.case_id)
        .outerjoin(CaseKey, CaseKey.case_id == Grant.case_id)
        .where(Grant.purpose != "", Grant.purpose_enc.is_(None), Grant.id > after)
        .order_by(Grant.id)
        .limit(size)
    )
    return session.execute(stmt).all()


def _seal_batch(session: Session, vault: Vault, rows: Sequence[_Legacy]) -> PurposeSealing:
    """Seal (or, for a destroyed case, blank) each row; one unwrap per case."""
    keys: dict[str, DataKey] = {}
    sealed = blanked = 0
    for row in rows:
        if row.destroyed_at is not None:
            blanked += _change(session, row, purpose="")
            continue
        dek = keys.get(row.case_id)
        if dek is None:
            dek = keys[row.case_id] = _case_key(session, vault, row)
        sealed += _change(session, row, purpose="", purpose_enc=seal_purpose(dek, row.id, row.purpose))
    return PurposeSealing(sealed, blanked)


def _case_key(session: Session, vault: Vault, row: _Legacy) -> DataKey:
    """The case's DEK from the wrapped key read with the batch; a refusal becomes ``_KeyNotOpened``."""
    wrapped = None if row.wrapped is None else WrappedKey(version=row.kek_version, blob=row.wrapped)
    try:
        return unwrap_case_key(session, vault.keys, row.case_id, wrapped)
    except VaultError as exc:
        raise _KeyNotOpened(row.case_id, exc) from None


def _change(session: Session, row: _Legacy, **values: object) -> int:
    """One conditional UPDATE: only while the grant still holds the clear purpose read with the batch and
    nothing sealed (a destruction that blanked it first wins). 1 when it changed, else 0."""
    result: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
        update(Grant)
        .where(Grant.id == row.id, Grant.purpose == row.purpose, Grant.purpose_enc.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return 1 if (result.rowcount or 0) == 1 else 0


def _record_run(vault: Vault, ctx: Context, done: PurposeSealing, *, complete: bool) -> None:
    """The run's one entry, in a transaction of its own: counts only, never an id of a grant or its text."""
    with vault.db.session() as session:
        record(
            session,
            ctx,
            AuditTag.SYSTEM_KEYS_REWRAPPED,
            object_type="grants",
            details={"purposes_sealed": done.sealed, "purposes_blanked": done.blanked, "complete": complete},
        )
