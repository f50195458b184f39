"""Disclosure validity (VAULT_DISCLOSURE_DEFAULT_DAYS / VAULT_DISCLOSURE_MAX_DAYS), extension (D9), and the
case's legal basis (D1). The settings are set to unusual values (7 / 20 days) so that a hard-coded number or
a dropped setting shows. Real services and database; the clock is the only double.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.cases.conftest import Staff
from tests.helpers import make_org, make_user, new_case
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, CaseKind, Category, OrgType, Role
from vault.errors import InvalidInput
from vault.models import AuditEntry, Case, Consent, Grant, Subject
from vault.runtime import Vault
from vault.services import cases, subjects
from vault.services.case_view import view_case
from vault.services.disclosures import DisclosureRequest, create_disclosure, extend_disclosure
from vault.services.subjects import PersonFields, Relation, ReporterFields

DEFAULT_DAYS = 7
MAX_DAYS = 20


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        password_hashing="fast_insecure_for_tests",
        cookie_secure=False,
        disclosure_default_days=DEFAULT_DAYS,
        disclosure_max_days=MAX_DAYS,
    )


@pytest.fixture
def worker(vault: Vault, staff: Staff) -> Context:
    return staff.ctx(vault, staff.worker)


@pytest.fixture
def case_id(vault: Vault, worker: Context, staff: Staff) -> str:
    return new_case(vault, worker, staff.team)


@pytest.fixture
def local_team(vault: Vault) -> str:
    return make_org(vault, OrgType.LOCAL_TEAM, "Lokaal team West")


def _request(case_id: str, org_id: str, valid_days: int | None) -> DisclosureRequest:
    return DisclosureRequest(
        contact_name="Marieke de Vries",  # D23
        contact_phone="030 123 45 67",
        case_id=case_id,
        org_id=org_id,
        purpose="warme overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=frozenset({Category.SAFETY_CONDITIONS}),
        valid_days=valid_days,
    )


def _grants(vault: Vault, case_id: str) -> int:
    with vault.db.session() as session:
        return int(
            session.scalar(select(func.count()).select_from(Grant).where(Grant.case_id == case_id)) or 0
        )


def _entries(vault: Vault, tag: AuditTag, case_id: str | None = None) -> list[AuditEntry]:
    with vault.db.session() as session:
        stmt = select(AuditEntry).where(AuditEntry.tag == str(tag)).order_by(AuditEntry.seq)
        if case_id is not None:
            stmt = stmt.where(AuditEntry.case_id == case_id)
        return list(session.scalars(stmt))


# --- default and maximum validity --------------------------------------------------------------------


def test_d9_a_disclosure_without_expiry_gets_exactly_the_configured_default(
    vault: Vault, worker: Context, case_id: str, local_team: str, clock: FrozenClock
) -> None:
    grant = create_disclosure(vault, worker, _request(case_id, local_team, None))
    assert grant.valid_from == clock.now()
    assert grant.valid_until - grant.valid_from == timedelta(days=DEFAULT_DAYS)
    created = _entries(vault, AuditTag.DISCLOSURE_GRANT_CREATED, case_id)
    assert json.loads(created[-1].details)["valid_days"] == DEFAULT_DAYS


def test_d9_a_disclosure_beyond_the_maximum_is_refused_not_capped(
    vault: Vault, worker: Context, case_id: str, local_team: str
) -> None:
    with pytest.raises(InvalidInput, match=f"1 to {MAX_DAYS} days"):
        create_disclosure(vault, worker, _request(case_id, local_team, MAX_DAYS + 1))
    assert _grants(vault, case_id) == 0  # refused, not silently capped
    grant = create_disclosure(vault, worker, _request(case_id, local_team, MAX_DAYS))  # the maximum itself
    assert grant.valid_until - grant.valid_from == timedelta(days=MAX_DAYS)
    with pytest.raises(InvalidInput):
        create_disclosure(vault, worker, _request(case_id, local_team, 0))
    assert _grants(vault, case_id) == 1


# --- extension ----------------------------------------------------------------------------------------


def test_d9_an_extension_never_reaches_beyond_the_maximum_from_the_original_grant_date(
    vault: Vault, worker: Context, case_id: str, local_team: str, clock: FrozenClock, staff: Staff
) -> None:
    start = clock.now()
    grant = create_disclosure(vault, worker, _request(case_id, local_team, 10))
    clock.advance(days=5)
    worker = staff.ctx(vault, staff.worker)  # a fresh second-factor check (step-up) at the new time
    # start + 21 days: one day beyond the maximum counted from the grant's start.
    with pytest.raises(InvalidInput, match=f"at most {MAX_DAYS} days from its start"):
        extend_disclosure(vault, worker, grant.id, days=MAX_DAYS - 5 + 1)
    with vault.db.session() as session:
        row = session.get(Grant, grant.id)
        assert row is not None
        assert row.valid_until == start + timedelta(days=10)  # a refused extension changes nothing
    extended = extend_disclosure(vault, worker, grant.id, days=MAX_DAYS - 5)  # exactly start + maximum
    assert extended.valid_until == start + timedelta(days=MAX_DAYS)
    assert extended.valid_from == start
    # Later extensions are still measured from the original start, not from the last extension.
    clock.advance(days=10)
    worker = staff.ctx(vault, staff.worker)
    with pytest.raises(InvalidInput):
        extend_disclosure(vault, worker, grant.id, days=MAX_DAYS - 15 + 1)
    # D16: day 16 is before the current end (start + maximum): no "extension" ends the disclosure earlier
    with pytest.raises(InvalidInput, match="after the current end"):
        extend_disclosure(vault, worker, grant.id, days=1)


def test_d9_an_extension_is_audited_and_a_refused_one_is_not_recorded_as_done(
    vault: Vault, worker: Context, case_id: str, local_team: str, staff: Staff
) -> None:
    grant = create_disclosure(vault, worker, _request(case_id, local_team, None))
    with pytest.raises(InvalidInput):
        extend_disclosure(vault, worker, grant.id, days=MAX_DAYS + 1)
    assert _entries(vault, AuditTag.DISCLOSURE_GRANT_EXTENDED) == []
    extend_disclosure(vault, worker, grant.id, days=12)
    (entry,) = _entries(vault, AuditTag.DISCLOSURE_GRANT_EXTENDED)
    assert entry.case_id == case_id
    assert (entry.object_type, entry.object_id) == ("grant", grant.id)
    assert entry.actor_id == staff.worker
    details = json.loads(entry.details)
    assert {k: details[k] for k in ("org_id", "days")} == {"org_id": local_team, "days": 12}
    assert set(details) == {"org_id", "days", "valid_until_before", "valid_until_after"}  # D16: times only


# --- D1: every case stores its legal basis; a report needs no consent --------------------------------


def _open(kind: CaseKind, vault: Vault, ctx: Context, staff: Staff) -> str:
    # Rows made by helpers first: transactions never nest.
    pro = make_user(vault, Role.PROFESSIONAL, org_id=make_org(vault, OrgType.SCHOOL))
    with vault.db.session() as session:
        if kind is CaseKind.REPORT:
            return cases.open_report(
                session,
                vault,
                ctx,
                team_id=staff.team,
                reporter=ReporterFields(name="Melder Voorbeeld", professional=False),
                subjects=[
                    (Relation.CHILD, PersonFields(name="Kind Voorbeeld", date_of_birth=date(2017, 4, 1)))
                ],
            ).id
        if kind is CaseKind.ADVICE_HELP_SEEKER:
            return cases.open_help_seeker_advice(session, vault, ctx, team_id=staff.team).id
        return cases.open_professional_advice(
            session, vault, ctx, professional_id=pro, meldcode_step=1, team_id=staff.team
        ).id


@pytest.mark.parametrize("kind", list(CaseKind))
def test_d1_every_case_kind_stores_its_legal_basis_at_opening(
    kind: CaseKind, vault: Vault, staff: Staff, worker: Context
) -> None:
    case_id = _open(kind, vault, worker, staff)
    with vault.db.session() as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert case.legal_basis == cases.DEFAULT_LEGAL_BASIS == "wmo-5.1.6"
    (created,) = _entries(vault, AuditTag.DOSSIER_CASE_CREATED, case_id)
    assert created.legal_basis == "wmo-5.1.6"
    assert json.loads(created.details) == {"kind": str(kind)}
    assert view_case(vault, worker, case_id).legal_basis == "wmo-5.1.6"


def test_d1_a_report_case_is_opened_and_filled_without_any_consent(
    vault: Vault, staff: Staff, worker: Context
) -> None:
    case_id = _open(CaseKind.REPORT, vault, worker, staff)
    # Identifying data on a report needs no consent (unlike a help seeker's advice, D2).
    subjects.add_subject(
        vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Ouder Voorbeeld")
    )
    with vault.db.session() as session:
        assert (
            session.scalar(select(func.count()).select_from(Consent).where(Consent.case_id == case_id)) == 0
        )
        rows = session.scalars(select(Subject).where(Subject.case_id == case_id)).all()
        assert len(rows) == 2
        assert all(s.consent_id is None and s.name_enc is not None for s in rows)
    view = view_case(vault, worker, case_id)
    assert view.kind == CaseKind.REPORT
    assert view.consents == []
