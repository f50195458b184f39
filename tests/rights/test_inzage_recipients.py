"""D13 / AVG art. 15(1)(c): the inzage copy names the recipients of the case — every disclosure, live,
expired or revoked, opened or not — with the organisation's name and type, the categories, the date,
the legal basis and until when; never the typed purpose, the partner title or the contact (D22, D23);
the reporter's identity left out of a grant that carried it, never counted apart (D8)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date

from tests.helpers import make_org, new_case, pdf_text
from vault.context import Context, FrozenClock
from vault.domain import Category, OrgType
from vault.runtime import Vault
from vault.services import rights
from vault.services.cases import open_report
from vault.services.disclosure_requests import DisclosureRequest
from vault.services.disclosures import create_disclosure, revoke_disclosure
from vault.services.inzage import REPORTER_PROTECTED, InzageExport, export_for_subject, render_inzage_pdf
from vault.services.subjects import (
    PersonFields,
    Relation,
    ReporterFields,
    add_subject,
    record_reporter_consent,
)

RECIPIENT = "Lokaal team Kanarie-West"
POLICE = "Politie Kanarie-Oost"
PURPOSE = "warme overdracht na gesprek met buurvrouw Jansen"
TITLE = "Afspraken voor de familie Kanarie"
CONTACT = "Marieke de Vries"
PHONE = "030 123 45 67"
REPORTER = "Kanarie Melder Visser"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _disclose(
    vault: Vault,
    ctx: Context,
    case_id: str,
    org_id: str,
    categories: set[Category],
    *,
    legal_basis: str = "wmo-4.1.1-2-help",
    valid_days: int | None = None,
    reporter: bool = False,
) -> str:
    return create_disclosure(
        vault,
        ctx,
        DisclosureRequest(
            contact_name=CONTACT,
            contact_phone=PHONE,
            case_id=case_id,
            org_id=org_id,
            purpose=PURPOSE,
            legal_basis=legal_basis,
            categories=frozenset(categories),
            partner_title=TITLE,
            valid_days=valid_days,
            include_reporter_identity=reporter,
        ),
    ).id


def _copy(vault: Vault, ctx: Context, case_id: str, subject_id: str) -> tuple[InzageExport, str, str]:
    req = rights.record_access_request(
        vault, ctx, case_id, subject_id=subject_id, received_on=ctx.now().date()
    )
    export = export_for_subject(vault, ctx, case_id, subject_id, access_request_id=req.id)
    return export, json.dumps(export.as_dict(), ensure_ascii=False), pdf_text(render_inzage_pdf(export))


def _parent(vault: Vault, ctx: Context, case_id: str) -> str:
    return add_subject(vault, ctx, case_id, relation=Relation.PARENT, fields=PersonFields(name="Moeder"))


def test_d13_copy_names_the_organisation_the_case_was_disclosed_to(
    vault: Vault, team: str, worker: Context
) -> None:
    """AVG art. 15(1)(c): a disclosure the partner has not opened yet is in the copy, JSON and PDF."""
    case_id = new_case(vault, worker, team)
    mother = _parent(vault, worker, case_id)
    org = make_org(vault, OrgType.LOCAL_TEAM, RECIPIENT)
    _disclose(vault, worker, case_id, org, {Category.SAFETY_CONDITIONS, Category.INVESTIGATION})
    export, _text, pdf = _copy(vault, worker, case_id, mother)
    (shown,) = export.as_dict()["recipients"]
    assert shown["organisation"] == RECIPIENT
    assert shown["organisation_type"] == "local_team"
    assert shown["categories"] == ["investigation", "safety_conditions"]
    assert shown["legal_basis"] == "wmo-4.1.1-2-help"
    assert shown["state"] == "active"
    assert shown["revoked_at"] is None
    flat = " ".join(pdf.split())
    assert "Verstrekt aan" in flat
    assert f"02-03-2026 · {RECIPIENT} (Lokaal team)" in flat
    assert "Gedeeld: Onderzoek, Veiligheidsvoorwaarden" in flat
    assert "grond: Wmo 2015 art. 4.1.1 lid 2 — hulpverlening" in flat
    assert "loopt tot" in flat


def test_d13_d22_d23_copy_never_holds_the_purpose_title_contact_or_ids_of_a_disclosure(
    vault: Vault, team: str, worker: Context
) -> None:
    """D22: purpose and partner title are typed by staff; D23: the contact names a staff member."""
    case_id = new_case(vault, worker, team)
    mother = _parent(vault, worker, case_id)
    org = make_org(vault, OrgType.LOCAL_TEAM, RECIPIENT)
    grant = _disclose(vault, worker, case_id, org, {Category.SAFETY_CONDITIONS})
    export, text, pdf = _copy(vault, worker, case_id, mother)
    assert RECIPIENT in text
    assert RECIPIENT in " ".join(pdf.split())
    for secret in (PURPOSE, TITLE, CONTACT, PHONE, grant, org):
        assert secret not in text
        assert secret not in pdf
    assert not _UUID.search(json.dumps([r.as_dict() for r in export.recipients]))
    assert not _UUID.search(pdf)


def test_d13_every_grant_of_the_case_is_in_every_subject_s_copy_also_expired_and_revoked(
    vault: Vault, team: str, worker: Context, clock: FrozenClock
) -> None:
    """A grant shares parts of the case, which is about each person in it: the child's copy and the
    mother's copy both name it; a revoked or expired grant stays listed with its state."""
    case_id = new_case(vault, worker, team)
    mother = _parent(vault, worker, case_id)
    child = add_subject(
        vault,
        worker,
        case_id,
        relation=Relation.CHILD,
        fields=PersonFields(name="Kind", date_of_birth=date(2010, 5, 1)),
    )
    local = make_org(vault, OrgType.LOCAL_TEAM, RECIPIENT)
    police = make_org(vault, OrgType.POLICE, POLICE)
    _disclose(vault, worker, case_id, local, {Category.SAFETY_CONDITIONS}, valid_days=1)
    revoked = _disclose(
        vault, worker, case_id, police, {Category.REPORT}, legal_basis="wmo-4.1.1-2-police", valid_days=30
    )
    revoke_disclosure(vault, worker, revoked)
    clock.advance(days=2)
    worker = replace(worker, factor_checked_at=clock.now())  # a fresh step-up for the export
    for subject in (mother, child):
        export, _text, pdf = _copy(vault, worker, case_id, subject)
        states = {r.organisation: r.state for r in export.recipients}
        assert states == {RECIPIENT: "expired", POLICE: "revoked"}
        flat = " ".join(pdf.split())
        assert f"{RECIPIENT} (Lokaal team)" in flat
        assert "verlopen op 03-03-2026" in flat
        assert f"{POLICE} (Politie)" in flat
        assert "ingetrokken op 02-03-2026" in flat


def test_d8_d13_reporter_identity_is_left_out_of_a_listed_grant_and_not_counted(
    vault: Vault, team: str, worker: Context
) -> None:
    """D8: a grant that carried the reporter's identity is listed without that category; a grant that
    carried only the reporter's identity is not listed at all; neither is counted apart."""
    with vault.db.session() as session:
        case_id = open_report(
            session, vault, worker, team_id=team, reporter=ReporterFields(name=REPORTER, professional=False)
        ).id
    mother = _parent(vault, worker, case_id)
    record_reporter_consent(vault, worker, case_id)
    local = make_org(vault, OrgType.LOCAL_TEAM, RECIPIENT)
    police = make_org(vault, OrgType.POLICE, POLICE)
    _disclose(
        vault, worker, case_id, local, {Category.SAFETY_CONDITIONS, Category.REPORTER_IDENTITY}, reporter=True
    )
    _disclose(
        vault,
        worker,
        case_id,
        police,
        {Category.REPORTER_IDENTITY},
        legal_basis="wmo-4.1.1-2-police",
        reporter=True,
    )
    export, text, pdf = _copy(vault, worker, case_id, mother)
    (shown,) = export.as_dict()["recipients"]
    assert shown["organisation"] == RECIPIENT
    assert shown["categories"] == ["safety_conditions"]
    assert POLICE not in text
    assert POLICE not in pdf
    assert "reporter_identity" not in json.dumps(export.as_dict()["recipients"])
    assert "Identiteit melder" not in pdf
    assert REPORTER not in text
    assert REPORTER not in pdf
    # One withholding for the reporter, as in any case with a reporter: no count of the disclosures
    # that carried the identity (that count would tell the family it went to a partner).
    reporter_lines = [w for w in export.withheld if w.reason == REPORTER_PROTECTED]
    assert [w.what for w in reporter_lines if "handelingen" not in w.what] == ["identiteit van de melder"]
    assert not any("verstrekking" in w.what for w in export.withheld)


def test_d13_a_case_never_disclosed_says_so(vault: Vault, team: str, worker: Context) -> None:
    case_id = new_case(vault, worker, team)
    mother = _parent(vault, worker, case_id)
    export, _text, pdf = _copy(vault, worker, case_id, mother)
    assert export.as_dict()["recipients"] == []
    assert "Verstrekt aan" in pdf
    assert "niemand" in pdf
