"""The fast canonical encoder of the verify scan equals ``chain.canonical_bytes`` byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from vault.audit import queries as repo
from vault.audit import record
from vault.audit.chain import CANONICAL_FIELDS, canonical_bytes
from vault.audit.queries import canonical_batch, iter_canonical, read_snapshot
from vault.context import Context
from vault.domain import AuditTag
from vault.models import AuditEntry
from vault.runtime import Vault

_SORTED = sorted(CANONICAL_FIELDS)
_TEXT = [name for name in _SORTED if name not in ("seq", "occurred_at", "break_glass")]

# Everything a JSON encoder might have to escape: quotes, backslashes, control characters, DEL,
# non-ASCII (incl. astral), the line separators, and a '%' for the %-templates.
_nasty = st.sampled_from(
    ['"', "\\", "\n", "\r", "\t", "\x00", "\x1f", "\x7f", "é", "\u2028", "😀", "%s", "%"]
)
_value = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
    st.lists(st.one_of(_nasty, st.text(max_size=3)), max_size=6).map("".join),
)
_times = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)


def _scan_row(fields: dict[str, Any], *, odd_time: bool) -> tuple[Any, ...]:
    """What the SQLite scan query returns for these stored values (see ``repo._scan_sql``)."""
    stored = fields["occurred_at"].strftime("%Y-%m-%d %H:%M:%S.%f")
    if odd_time:
        when, odd = fields["occurred_at"].isoformat(), repo._ODD_TIME
    else:
        when, odd = f"{stored[:10]}T{stored[11:]}Z", 0
    key = sum(1 << i for i, name in enumerate(_TEXT) if fields[name] is None) | odd
    values = [when if name == "occurred_at" else fields[name] for name in _SORTED]
    values[_SORTED.index("break_glass")] = int(fields["break_glass"])
    return (*values, "e" * 64, key)


@settings(max_examples=600, deadline=None)
@given(
    texts=st.fixed_dictionaries(dict.fromkeys(_TEXT, _value)),
    details=st.dictionaries(st.text(max_size=8), st.one_of(st.none(), st.booleans(), st.integers(), _value)),
    seq=st.integers(min_value=1, max_value=2**62),
    when=_times,
    break_glass=st.booleans(),
    odd_time=st.booleans(),
)
def test_fast_encoder_equals_the_reference_for_arbitrary_values(
    texts: dict[str, Any],
    details: dict[str, Any],
    seq: int,
    when: datetime,
    break_glass: bool,
    odd_time: bool,
) -> None:
    import json

    fields = {
        **texts,
        "details": json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=True),
        "seq": seq,
        "occurred_at": when,
        "break_glass": break_glass,
    }
    row = _scan_row(fields, odd_time=odd_time)
    assert canonical_batch([row]) == [canonical_bytes(fields)]


def test_fast_encoder_handles_a_batch_of_mixed_rows() -> None:
    base: dict[str, Any] = dict.fromkeys(_TEXT, "x")
    base.update(details="{}", seq=1, occurred_at=datetime(2026, 1, 1, tzinfo=UTC), break_glass=False)
    variants = [
        base,
        {**base, "object_id": 'a"b', "seq": 2},
        {**base, "purpose": None, "break_glass": True, "seq": 3},
        {**base, "tag": "x\\y", "seq": 4},
        {**base, "rule": "ü", "case_id": None, "seq": 5},
    ]
    rows = [_scan_row(v, odd_time=False) for v in variants]
    assert canonical_batch(rows) == [canonical_bytes(v) for v in variants]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    object_id=_value.filter(lambda v: v is None or ("\x00" not in v and len(v) <= 64)),
    purpose=_value.filter(lambda v: v is None or ("\x00" not in v and len(v) <= 64)),
    detail=_value.filter(lambda v: v is None or len(v) <= 100),
    break_glass=st.booleans(),
)
def test_scan_of_stored_entries_equals_the_reference(
    vault: Vault,
    system_ctx: Context,
    object_id: str | None,
    purpose: str | None,
    detail: str | None,
    break_glass: bool,
) -> None:
    """Through the real database (the SQL half of the encoder), on SQLite and PostgreSQL."""
    with vault.db.session() as session:
        record(
            session,
            system_ctx,
            AuditTag.SYSTEM_READINESS_PROBE,
            object_id=object_id,
            purpose=purpose,
            break_glass=break_glass,
            details={"d": detail},
        )
    with vault.db.session() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        reference = [canonical_bytes({c: getattr(e, c) for c in CANONICAL_FIELDS}) for e in entries]
    with read_snapshot(vault.db) as conn:
        fast = [row.canonical for row in iter_canonical(conn)]
    assert fast == reference
