"""Issue 18 (privacy officer): every audit tag and object type has a Dutch label; references and
usernames resolve to the ids the log holds; the Dutch CSV still defuses formulas; the data subject's
overview (D15) leaves the reporter out."""

from __future__ import annotations

import ast
from enum import StrEnum
from pathlib import Path

import pytest

from tests.helpers import pdf_text
from tests.web.world import World, _person
from vault import labels
from vault.audit.export import CsvStyle, _csv_cell
from vault.audit.log import record
from vault.audit.search import case_ids_for_reference, reference_prefix, user_ids_for_name
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role, reference_of
from vault.errors import InvalidInput
from vault.labels import AUDIT_TAGS, OBJECT_TYPES
from vault.runtime import Vault
from vault.services.access_overview import subject_overview
from vault.services.destruction import RefusalReason
from vault.services.inzage import FreeTextKind, ReviewDecision
from vault.services.key_recovery import HSM_BACKUP_KEY, ROOT_KEY
from vault.services.legal_hold import LiftReason
from vault.services.rights import ExtensionReason, RequestedBy
from vault.transaction import transaction
from vault.web.fg_reports import DUTCH_CSV, parse_day, subject_overview_pdf

VAULT = Path(__file__).resolve().parents[2] / "vault"


def test_every_audit_tag_has_a_dutch_label() -> None:
    missing = [str(t) for t in AuditTag if str(t) not in AUDIT_TAGS]
    assert not missing, f"audit tags without a Dutch label in vault/labels.py: {missing}"
    assert all(label and label != code for code, label in AUDIT_TAGS.items())


@pytest.mark.parametrize(
    ("codes", "table"),
    [
        (ExtensionReason, "EXTENSION_REASONS"),
        (LiftReason, "HOLD_LIFT_REASONS"),
        (FreeTextKind, "FREE_TEXT_KINDS"),
        (ReviewDecision, "REVIEW_DECISIONS"),
        (RefusalReason, "REFUSAL_REASONS"),
        (RequestedBy, "REQUESTERS"),
    ],
)
def test_d12_d13_every_rights_code_has_exactly_one_dutch_label(codes: type[StrEnum], table: str) -> None:
    """The rights pages offer and check these codes by their labels: one per code, none extra."""
    assert set(getattr(labels, table)) == {str(c) for c in codes}


def _object_types_in_source() -> set[str]:
    """Every string literal passed as ``object_type=`` anywhere in vault/ (record, gate doors, …)."""
    found: set[str] = set()
    for path in VAULT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            value = node.value if isinstance(node, ast.keyword) and node.arg == "object_type" else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(value.value)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_denied":
                found.update(str(a.value) for a in node.args[4:5] if isinstance(a, ast.Constant))
    return found


def test_every_object_type_has_a_dutch_label() -> None:
    used = _object_types_in_source() | {str(k) for k in FreeTextKind} | {ROOT_KEY, HSM_BACKUP_KEY}
    assert len(used) > 20  # the scan found the record calls
    missing = sorted(used - set(OBJECT_TYPES))
    assert not missing, f"object types without a Dutch label in vault/labels.py: {missing}"


def test_reference_and_username_resolve_to_ids(vault: Vault, world: World) -> None:
    reference = reference_of(world.case_id)
    with vault.db.session() as session:
        assert case_ids_for_reference(session, reference) == [world.case_id]
        assert case_ids_for_reference(session, reference[:5].lower()) == [world.case_id]  # "vt-ab"
        assert case_ids_for_reference(session, world.case_id) == [world.case_id]
        assert case_ids_for_reference(session, "VT-" + ("0000" if reference[3:7] != "0000" else "ffff")) == []
        assert user_ids_for_name(session, "MARIEKE") == [world.worker.user_id]
        assert user_ids_for_name(session, "mar") == [world.worker.user_id]
        assert user_ids_for_name(session, "%") == []
    for bad in ("", "VT-", "VT-ZZZZ-1234", "x" * 36, "12345678-1234"):
        with pytest.raises(InvalidInput):
            reference_prefix(bad)


def test_dutch_csv_cells_defuse_formulas_and_use_labels() -> None:
    for dangerous in ("=HYPERLINK(1)", "+1", "-1", "@SUM(A1)"):
        assert _csv_cell(dangerous, DUTCH_CSV, "object_id").startswith("'")
    assert _csv_cell("dossier:case:read", DUTCH_CSV, "tag") == "Zaak bekeken"
    assert _csv_cell("deny", DUTCH_CSV, "decision") == "Geweigerd"
    assert _csv_cell(True, DUTCH_CSV, "break_glass") == "ja"
    assert _csv_cell("=x", CsvStyle(labels={"tag": {"=x": "=y"}}), "tag") == "'=y"


def test_dates_are_typed_dutch() -> None:
    assert parse_day("02-03-2026").isoformat() == "2026-03-02"  # type: ignore[union-attr]
    assert parse_day("") is None
    with pytest.raises(InvalidInput):
        parse_day("31-02-2026")


def test_d15_subject_overview_leaves_the_reporting_professional_out(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    reporter = _person(vault, "huisarts.dekker", Role.PROFESSIONAL)
    ctx = Context(actor_id=reporter.user_id, role=str(Role.PROFESSIONAL), access_point="web", clock=clock)
    with transaction(vault.db) as session:
        record(session, ctx, AuditTag.DOSSIER_CASE_READ, case_id=world.case_id, object_type="case")
    officer = Context(
        actor_id=world.officer.user_id,
        role=str(Role.PRIVACY_OFFICER),
        access_point="web",
        second_factor_verified=True,
        factor_checked_at=clock.now(),
        clock=clock,
    )
    with transaction(vault.db) as session:
        overview = subject_overview(session, vault, officer, world.case_id)
    assert overview["left_out"]["reporter"] == 1
    who = {line["username"] for line in overview["lines"]}
    assert "marieke" in who
    assert "huisarts.dekker" not in who
    text = pdf_text(subject_overview_pdf(overview, clock.now()))
    assert "marieke (Medewerker, Veilig Thuis)" in text
    assert reference_of(world.case_id) in text
    assert "huisarts.dekker" not in text
    assert "Kanarie Melder" not in text
    assert world.case_id not in text
