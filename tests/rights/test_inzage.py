"""D13: the inzage copy of one subject withholds the reporter and other persons, each with a reason."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.helpers import ctx_for, make_org, make_team, make_user, new_case, pdf_text, upload
from tests.rights.review import withhold_all
from vault import labels
from vault.context import Context
from vault.domain import Category, OrgType, Role, reference_of
from vault.errors import Forbidden, InvalidInput, NotFound, StepUpRequired
from vault.models import AccessRequest, AuditEntry, User
from vault.runtime import Vault
from vault.services import access_overview, own_motion, rights
from vault.services.case_view import view_case
from vault.services.cases import open_professional_advice, open_report
from vault.services.inzage import (
    CONTENTS_AFTER_REVIEW,
    MEDICAL_VIA_DOCTOR,
    OTHER_PERSONS,
    REPORT_LEFT_OUT,
    REPORT_LEFT_OUT_REASON,
    REPORTER_PROTECTED,
    export_for_subject,
    render_inzage_pdf,
)
from vault.services.subjects import PersonFields, Relation, ReporterFields, add_subject

REPORTER = "Kanarie Melder Visser"
MOTHER = "Kanarie Moeder de Groot"
MOTHER_BSN = "111222333"
CHILD = "Sam de Groot"
PRACTICE = "Huisartsenpraktijk Kanarie"


@pytest.fixture
def setting(vault: Vault) -> tuple[str, str, str, object]:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    with vault.db.session() as session:
        case_id = open_report(
            session,
            vault,
            worker,
            team_id=team,
            reporter=ReporterFields(name=REPORTER, professional=False, contact="06-12345678"),
        ).id
    child = add_subject(
        vault,
        worker,
        case_id,
        relation=Relation.CHILD,
        fields=PersonFields(name=CHILD, date_of_birth=date(2016, 4, 1)),
    )
    add_subject(
        vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name=MOTHER, bsn=MOTHER_BSN)
    )
    upload(vault, worker, case_id, b"verslag", title="Verslag gesprek school")
    upload(
        vault, worker, case_id, REPORTER.encode(), category=Category.REPORTER_IDENTITY, title="Meldergegevens"
    )
    return case_id, child, team, worker


def test_d13_inzage_withholds_reporter_and_other_persons_with_reasons(
    vault: Vault, setting: tuple[str, str, str, object]
) -> None:
    case_id, child, _team, worker = setting
    export = export_for_subject(vault, worker, case_id, child)  # type: ignore[arg-type]
    data = export.as_dict()
    text = json.dumps(data, ensure_ascii=False)
    assert data["subject"]["name"] == CHILD
    assert data["subject"]["date_of_birth"] == "2016-04-01"
    for canary in (REPORTER, MOTHER, MOTHER_BSN, "06-12345678"):
        assert canary not in text
    reasons = {w["what"]: w["reason"] for w in data["withheld"]}
    assert "identiteit van de melder" in reasons
    assert reasons["gegevens van 1 andere betrokkene"] == OTHER_PERSONS
    assert "inhoud van de documenten" in reasons
    assert all(reason.strip() for reason in reasons.values())
    # D22: a title is free text; without a staff release for an access request it is withheld.
    assert [d["title"] for d in data["documents"]] == [None]
    assert "Verslag gesprek school" not in text
    assert any(a["action"] == "dossier:subject:added" for a in data["access_report"])  # D15 included
    pdf = render_inzage_pdf(export)
    assert pdf.startswith(b"%PDF")
    shown = pdf_text(pdf)
    assert CHILD in shown  # the reader sees the text, so the checks below can fail
    assert REPORTER not in shown
    assert MOTHER not in shown


def test_d13_the_copy_a_person_receives_reads_in_dutch_without_ids_or_codes(
    vault: Vault, setting: tuple[str, str, str, object]
) -> None:
    """The reasons, the subject's fields, categories, roles, actions and times are Dutch words; the
    case is named by its reference; no id (a medical document included) and no internal code."""
    case_id, child, team, worker = setting
    doctor = ctx_for(vault, make_user(vault, Role.VERTROUWENSARTS, teams=[team]), Role.VERTROUWENSARTS)
    upload(vault, doctor, case_id, b"uitslag", category=Category.MEDICAL, title="Uitslag huisarts")
    export = export_for_subject(vault, worker, case_id, child)  # type: ignore[arg-type]
    reasons = {w.reason for w in export.withheld}
    assert {OTHER_PERSONS, REPORTER_PROTECTED, MEDICAL_VIA_DOCTOR, CONTENTS_AFTER_REVIEW} <= reasons
    text = pdf_text(render_inzage_pdf(export))
    for dutch in (
        "Relatie",
        "Kind",
        "Geboortedatum",
        "01-04-2016",
        "Naam",
        "Medewerker",
        "Nederlandse tijd",
        "medisch document van",
    ):
        assert dutch in text, dutch
    assert reference_of(case_id) in text
    ids = {case_id, child, *(d["document_id"] for d in export.documents)}
    for raw in (
        *ids,
        "dossier:",
        "safety_conditions",
        "(medewerker,",
        " child",
        "UTC",
        "2016-04-01",
        "privacy of",
        "the reporter",
    ):
        assert raw not in text, raw
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", text)  # no id of any kind


def test_d13_inzage_needs_step_up_and_a_team_member(
    vault: Vault, setting: tuple[str, str, str, object]
) -> None:
    case_id, child, team, _worker = setting
    not_stepped = ctx_for(
        vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER, stepped_up=False
    )
    with pytest.raises(StepUpRequired):
        export_for_subject(vault, not_stepped, case_id, child)
    outsider = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[make_team(vault)]), Role.MEDEWERKER)
    with pytest.raises(Forbidden):
        export_for_subject(vault, outsider, case_id, child)
    officer = ctx_for(vault, make_user(vault, Role.PRIVACY_OFFICER), Role.PRIVACY_OFFICER)
    with pytest.raises((Forbidden, NotFound)):
        export_for_subject(vault, officer, case_id, child)


def _professional_advice_converted(vault: Vault) -> tuple[str, str, str, Context]:
    """An advice a professional asked (D3) that Veilig Thuis converted to a report (D4): the
    professional is its reporter. Returns the case, a child subject, the professional's username
    and a team member."""
    team = make_team(vault)
    org = make_org(vault, OrgType.LOCAL_TEAM, PRACTICE)
    professional_id = make_user(vault, Role.PROFESSIONAL, org_id=org)
    professional = ctx_for(vault, professional_id, Role.PROFESSIONAL, org_id=org)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    doctor = ctx_for(vault, make_user(vault, Role.VERTROUWENSARTS, teams=[team]), Role.VERTROUWENSARTS)
    with vault.db.session() as session:
        case_id = open_professional_advice(
            session, vault, professional, professional_id=professional_id, meldcode_step=2, team_id=team
        ).id
        username = session.get(User, professional_id).username  # type: ignore[union-attr]
    view_case(vault, professional, case_id)
    conversion = own_motion.request_own_motion(
        vault, worker, case_id, reason="Acuut hoog risico voor het kind"
    )
    own_motion.approve_own_motion(vault, worker, case_id, conversion)
    own_motion.approve_own_motion(vault, doctor, case_id, conversion)
    own_motion.convert_own_motion(vault, worker, case_id, conversion)
    child = add_subject(
        vault,
        worker,
        case_id,
        relation=Relation.CHILD,
        fields=PersonFields(name=CHILD, date_of_birth=date(2015, 1, 1)),
    )
    return case_id, child, username, worker


def test_d8_d13_the_copy_leaves_the_reporting_professional_out_of_its_access_report(vault: Vault) -> None:
    case_id, child, username, worker = _professional_advice_converted(vault)
    outsider = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[make_team(vault)]), Role.MEDEWERKER)
    with pytest.raises(Forbidden):
        view_case(vault, outsider, case_id)  # a refused attempt: nothing seen
    export = export_for_subject(vault, worker, case_id, child)
    text = json.dumps(export.as_dict(), ensure_ascii=False)
    assert username not in text
    assert PRACTICE not in text
    assert all(a["role"] != Role.PROFESSIONAL for a in export.access_report)
    assert export.access_report  # the staff's own entries stay
    reasons = {w.what: w.reason for w in export.withheld}
    # D8, D13: what the access report leaves out is named in one fixed sentence, never counted
    assert reasons[REPORT_LEFT_OUT] == REPORT_LEFT_OUT_REASON
    assert not any(re.search(r"\d+ regels?\b", what) for what in reasons)
    shown = pdf_text(render_inzage_pdf(export))
    assert CHILD in shown
    assert username not in shown
    assert PRACTICE not in shown


def test_d13_d15_the_copy_holds_every_access_of_a_busy_case(
    vault: Vault, setting: tuple[str, str, str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read page by page: the newest access is in the copy however many came before it."""
    case_id, child, team, worker = setting
    monkeypatch.setattr(access_overview, "_PAGE", 3)
    doctor = ctx_for(vault, make_user(vault, Role.VERTROUWENSARTS, teams=[team]), Role.VERTROUWENSARTS)
    for _ in range(4):
        view_case(vault, worker, case_id)  # type: ignore[arg-type]
    view_case(vault, doctor, case_id)
    export = export_for_subject(vault, worker, case_id, child)  # type: ignore[arg-type]
    with vault.db.session() as session:
        allowed = session.scalar(
            select(func.count()).where(AuditEntry.case_id == case_id, AuditEntry.decision == "allow")
        )
    assert allowed is not None
    assert allowed > 9  # more than three pages
    # every one, the copy's own entry (written first) too; but not the upload of the reporter-identity
    # document (D8: the document is left out of the copy, so is every entry about it)
    assert len(export.access_report) == allowed - 1
    assert export.access_report[-2]["role"] == Role.VERTROUWENSARTS  # the newest read, then the copy


def test_d13_a_reporter_identity_document_is_withheld_with_its_reason(vault: Vault) -> None:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    case_id = new_case(vault, worker, team)  # no reporter recorded: only the document names one
    child = add_subject(vault, worker, case_id, relation=Relation.CHILD, fields=PersonFields(name=CHILD))
    upload(vault, worker, case_id, REPORTER.encode(), category=Category.REPORTER_IDENTITY, title="Melder")
    export = export_for_subject(vault, worker, case_id, child)
    assert export.documents == []
    assert {w.what: w.reason for w in export.withheld}["identiteit van de melder"] == REPORTER_PROTECTED


def test_d16_entries_of_a_subjects_request_name_the_subject_on_whose_behalf(
    vault: Vault, setting: tuple[str, str, str, object]
) -> None:
    case_id, child, _team, worker = setting
    request = rights.record_access_request(
        vault,
        worker,  # type: ignore[arg-type]
        case_id,
        subject_id=child,
        received_on=date(2026, 1, 5),
        requested_by=rights.RequestedBy.REPRESENTATIVE,  # the child is 9
    )
    withhold_all(vault, worker, request.id)  # type: ignore[arg-type]  # D13, D22: reviewed first
    export_for_subject(vault, worker, case_id, child, access_request_id=request.id)  # type: ignore[arg-type]
    rights.complete_access_request(vault, worker, request.id)  # type: ignore[arg-type]
    view_case(vault, worker, case_id)  # type: ignore[arg-type]
    with vault.db.session() as session:
        entries = {
            e.tag: e.on_behalf_of
            for e in session.scalars(select(AuditEntry).where(AuditEntry.case_id == case_id))
        }
    for tag in ("rights:access:requested", "rights:inzage:exported", "rights:access:completed"):
        assert entries[tag] == f"subject:{child}", tag
    assert entries["dossier:case:read"] is None  # the staff's own work is on nobody's behalf


def _refused_and_audited(vault: Vault, ask: Callable[[], object], rule: str, case_id: str) -> None:
    """The request is refused with ``rule``, nothing is recorded, and the refusal is audited."""
    with pytest.raises(InvalidInput) as refused:
        ask()
    assert refused.value.rule == rule
    with vault.db.session() as session:
        denial = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
        assert session.scalars(select(AccessRequest)).first() is None  # nothing recorded
    assert (denial.tag, denial.rule, denial.case_id) == ("dossier:access:denied", rule, case_id)


@pytest.mark.parametrize(
    ("years", "days_to_birthday", "requested_by", "allowed"),
    [
        (9, 0, rights.RequestedBy.SUBJECT, False),
        (9, 0, rights.RequestedBy.REPRESENTATIVE, True),
        (12, 1, rights.RequestedBy.SUBJECT, False),  # 12 tomorrow
        (12, 0, rights.RequestedBy.SUBJECT, True),  # 12 today
    ],
)
def test_d13_a_child_under_12_asks_through_a_legal_representative(
    vault: Vault,
    setting: tuple[str, str, str, object],
    years: int,
    days_to_birthday: int,
    requested_by: rights.RequestedBy,
    allowed: bool,
) -> None:
    case_id, _child, _team, worker = setting
    today = vault.clock.now().date()
    birthday = today + timedelta(days=days_to_birthday)
    born = birthday.replace(year=birthday.year - years)
    child = add_subject(
        vault,
        worker,  # type: ignore[arg-type]
        case_id,
        relation=Relation.CHILD,
        fields=PersonFields(name="Kim", date_of_birth=born),
    )
    ask = functools.partial(
        rights.record_access_request,
        vault,
        worker,  # type: ignore[arg-type]
        case_id,
        subject_id=child,
        received_on=today,
        requested_by=requested_by,
    )
    if not allowed:
        _refused_and_audited(vault, ask, "d13-under-12-via-representative", case_id)
        return
    request = ask()
    assert request.requested_by == requested_by
    export = export_for_subject(vault, worker, case_id, child, access_request_id=request.id)  # type: ignore[arg-type]
    assert export.case["requested_by"] == requested_by
    shown = pdf_text(render_inzage_pdf(export))
    assert f"Gevraagd door\n{labels.REQUESTERS[requested_by]}" in shown


@pytest.mark.parametrize(
    ("relation", "requested_by", "refused"),
    [
        (Relation.CHILD, rights.RequestedBy.SUBJECT, "d13-child-age-unknown"),  # may be under 12
        # may be 18 or older: a representative asks for a minor, so the date of birth first
        (Relation.CHILD, rights.RequestedBy.REPRESENTATIVE, "d13-representative-age-unknown"),
        (Relation.PARENT, rights.RequestedBy.SUBJECT, None),  # an adult by relation
    ],
)
def test_d13_a_child_without_a_recorded_date_of_birth_does_not_ask_in_its_own_name(
    vault: Vault,
    setting: tuple[str, str, str, object],
    relation: Relation,
    requested_by: rights.RequestedBy,
    refused: str | None,
) -> None:
    case_id, _child, _team, worker = setting
    subject = add_subject(vault, worker, case_id, relation=relation, fields=PersonFields(name="Kim"))  # type: ignore[arg-type]
    ask = functools.partial(
        rights.record_access_request,
        vault,
        worker,  # type: ignore[arg-type]
        case_id,
        subject_id=subject,
        received_on=vault.clock.now().date(),
        requested_by=requested_by,
    )
    if not refused:
        assert ask().requested_by == requested_by
        return
    _refused_and_audited(vault, ask, refused, case_id)


def test_d13_an_access_request_names_a_subject_of_its_own_case(
    vault: Vault, setting: tuple[str, str, str, object]
) -> None:
    _case_id, child, team, worker = setting
    other_case = new_case(vault, worker, team)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        rights.record_access_request(
            vault,
            worker,  # type: ignore[arg-type]
            other_case,
            subject_id=child,
            received_on=date(2026, 1, 5),
            requested_by=rights.RequestedBy.REPRESENTATIVE,
        )
