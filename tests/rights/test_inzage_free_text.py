"""D8, D13, D22: free text typed by staff (document titles) enters an inzage copy only when a staff
member released it for the access request the copy answers; otherwise it is withheld with a reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import (
    ApiUser,
    api_user,
    ctx_for,
    make_org,
    make_team,
    make_user,
    pdf_text,
    team_id_of,
    upload,
)
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, OrgType, Role
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound, StepUpRequired
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services.cases import open_report
from vault.services.inzage import (
    NOT_REVIEWED,
    REPORTER_PROTECTED,
    RIGHTS_OF_OTHERS,
    WITHHELD_AFTER_REVIEW,
    WITHHELD_WITH_GROUND,
    ReviewDecision,
    WithholdingGround,
    export_for_subject,
    render_inzage_pdf,
)
from vault.services.inzage_review import list_free_text, review_free_text
from vault.services.rights import RequestedBy, complete_access_request, record_access_request
from vault.services.subjects import PersonFields, Relation, ReporterFields, add_subject

NEIGHBOUR = "Kanarie Buurvrouw Terpstra"
REPORTER = (
    "Melder Oostveen"  # the reporter is not the neighbour (D8: a release naming the reporter is refused)
)
NEIGHBOUR_TITLE = f"Gesprek met buurvrouw {NEIGHBOUR}"
PLAIN_TITLE = "Verslag huisbezoek"
BY_PARENT = RequestedBy.REPRESENTATIVE  # the child is under 12 (D13)
CHILD = "Sam Terpstra"


@dataclass(frozen=True)
class Setting:
    case_id: str
    child: str
    team: str
    worker: Context
    neighbour_doc: str
    plain_doc: str
    request_id: str

    @property
    def neighbour_item(self) -> str:
        return f"document_title:{self.neighbour_doc}"

    @property
    def plain_item(self) -> str:
        return f"document_title:{self.plain_doc}"


@pytest.fixture
def setting(vault: Vault) -> Setting:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    with vault.db.session() as session:
        case_id = open_report(
            session, vault, worker, team_id=team, reporter=ReporterFields(name=REPORTER, professional=False)
        ).id
    child = add_subject(
        vault,
        worker,
        case_id,
        relation=Relation.CHILD,
        fields=PersonFields(name=CHILD, date_of_birth=date(2017, 2, 3)),
    )
    neighbour_doc = upload(vault, worker, case_id, b"verslag", title=NEIGHBOUR_TITLE)
    plain_doc = upload(vault, worker, case_id, b"huisbezoek", title=PLAIN_TITLE)
    request = record_access_request(
        vault, worker, case_id, subject_id=child, received_on=date(2026, 1, 2), requested_by=BY_PARENT
    )
    return Setting(case_id, child, team, worker, neighbour_doc, plain_doc, request.id)


def _copy(vault: Vault, s: Setting, request_id: str | None = None) -> tuple[dict[str, Any], str, str]:
    export = export_for_subject(vault, s.worker, s.case_id, s.child, access_request_id=request_id)
    data = export.as_dict()
    return data, json.dumps(data, ensure_ascii=False), pdf_text(render_inzage_pdf(export))


def test_d22_d8_a_title_naming_a_neighbour_never_enters_the_copy_until_released(
    vault: Vault, setting: Setting
) -> None:
    s = setting
    for request_id in (None, s.request_id):
        data, text, pdf = _copy(vault, s, request_id)
        assert NEIGHBOUR not in text
        assert "Kanarie" not in pdf
        assert PLAIN_TITLE not in text  # every unreviewed title is withheld, not only suspicious ones
        assert [d["title"] for d in data["documents"]] == [None, None]
        withheld = {w["item"]: w["reason"] for w in data["withheld"]}
        assert withheld[s.neighbour_item] == NOT_REVIEWED
        assert NOT_REVIEWED in pdf
    # The reviewer sees the text; the copy does not, until it is released for this request.
    items = {i.item: i for i in list_free_text(vault, s.worker, s.request_id)}
    assert items[s.neighbour_item].text == NEIGHBOUR_TITLE
    assert items[s.neighbour_item].decision is None
    review_free_text(vault, s.worker, s.request_id, {s.neighbour_item: ReviewDecision.RELEASED})
    data, text, pdf = _copy(vault, s, s.request_id)
    assert NEIGHBOUR_TITLE in text
    assert NEIGHBOUR_TITLE in pdf  # the PDF text is read for real: the released title is found in it
    assert PLAIN_TITLE not in text
    assert PLAIN_TITLE not in pdf
    # A release belongs to its request: a copy for no request, or another one, stays without it.
    for other in (
        None,
        record_access_request(
            vault,
            s.worker,
            s.case_id,
            subject_id=s.child,
            received_on=date(2026, 2, 1),
            requested_by=BY_PARENT,
        ).id,
    ):
        _data, text, pdf = _copy(vault, s, other)
        assert NEIGHBOUR not in text
        assert "Kanarie" not in pdf


def test_d22_the_release_needs_step_up_and_is_audited_with_ids_only(vault: Vault, setting: Setting) -> None:
    s = setting
    not_stepped = ctx_for(vault, s.worker.actor_id or "", Role.MEDEWERKER, stepped_up=False)
    with pytest.raises(StepUpRequired):
        review_free_text(vault, not_stepped, s.request_id, {s.neighbour_item: "released"})
    # Withholding is the safe way: no step-up needed.
    review_free_text(vault, not_stepped, s.request_id, {s.plain_item: "withheld"})
    review_free_text(vault, s.worker, s.request_id, {s.neighbour_item: "released"})
    with vault.db.session() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.case_id == s.case_id)).all()
        released = [e for e in entries if e.tag == AuditTag.RIGHTS_INZAGE_ITEM_RELEASED]
        assert [(e.object_type, e.object_id, e.actor_id) for e in released] == [
            ("document_title", s.neighbour_doc, s.worker.actor_id)
        ]
        assert json.loads(released[0].details) == {"access_request_id": s.request_id}
        withheld = [e for e in entries if e.tag == AuditTag.RIGHTS_INZAGE_ITEM_WITHHELD]
        assert [e.object_id for e in withheld] == [s.plain_doc]
        assert sum(e.tag == AuditTag.RIGHTS_INZAGE_REVIEWED for e in entries) == 2
        for entry in entries:
            row = json.dumps({c.name: str(getattr(entry, c.name)) for c in AuditEntry.__table__.columns})
            assert "buurvrouw" not in row
            assert PLAIN_TITLE not in row


def test_d22_d13_a_withheld_item_carries_its_reason(vault: Vault, setting: Setting) -> None:
    s = setting
    review_free_text(
        vault,
        s.worker,
        s.request_id,
        {s.neighbour_item: ReviewDecision.WITHHELD, s.plain_item: ReviewDecision.RELEASED},
    )
    data, text, pdf = _copy(vault, s, s.request_id)
    withheld = {w["item"]: w for w in data["withheld"]}
    assert withheld[s.neighbour_item]["reason"] == WITHHELD_WITH_GROUND  # D8, D13: one neutral ground
    assert withheld[s.neighbour_item]["what"].startswith("titel van het document van ")
    assert s.plain_item not in withheld
    by_id = {d["document_id"]: d for d in data["documents"]}
    assert by_id[s.neighbour_doc]["title"] is None
    assert by_id[s.neighbour_doc]["title_withheld"] == WITHHELD_WITH_GROUND
    assert by_id[s.plain_doc]["title"] == PLAIN_TITLE
    assert WITHHELD_AFTER_REVIEW in pdf
    assert PLAIN_TITLE in pdf
    assert "Kanarie" not in pdf
    assert NEIGHBOUR not in text
    # A later decision replaces the earlier one; the listing shows the current one.
    review_free_text(vault, s.worker, s.request_id, {s.plain_item: "withheld"})
    items = {i.item: i.decision for i in list_free_text(vault, s.worker, s.request_id)}
    assert items == {s.neighbour_item: ReviewDecision.WITHHELD, s.plain_item: ReviewDecision.WITHHELD}
    assert PLAIN_TITLE not in _copy(vault, s, s.request_id)[1]


def test_d8_d13_a_withheld_item_gets_one_neutral_ground_whatever_the_reviewer_chose(
    vault: Vault, setting: Setting
) -> None:
    """D13: every withholding has a reason; D8: the copy gives every withheld item the same neutral
    ground (the reporter's protection next to a dated item would point at it); the reviewer's ground
    stays in the staff-side review and the audit entry carries only its code."""
    s = setting
    review_free_text(
        vault,
        s.worker,
        s.request_id,
        {s.neighbour_item: ReviewDecision.WITHHELD, s.plain_item: ReviewDecision.WITHHELD},
        {s.neighbour_item: WithholdingGround.REPORTER},
    )
    data, _text, pdf = _copy(vault, s, s.request_id)
    reasons = {w["item"]: w["reason"] for w in data["withheld"]}
    assert reasons[s.neighbour_item] == WITHHELD_WITH_GROUND == f"{WITHHELD_AFTER_REVIEW}: {RIGHTS_OF_OTHERS}"
    assert reasons[s.plain_item] == WITHHELD_WITH_GROUND  # no ground given: the same
    assert not [w for w in data["withheld"] if w["item"] and REPORTER_PROTECTED in w["reason"]]
    assert RIGHTS_OF_OTHERS.split(" (")[0] in " ".join(pdf.split())
    items = {i.item: i.ground for i in list_free_text(vault, s.worker, s.request_id)}
    assert items == {s.neighbour_item: WithholdingGround.REPORTER, s.plain_item: None}
    with vault.db.session() as session:
        details = session.scalars(
            select(AuditEntry.details).where(AuditEntry.tag == str(AuditTag.RIGHTS_INZAGE_ITEM_WITHHELD))
        ).all()
    assert sorted(json.loads(d).get("ground", "-") for d in details) == ["-", "reporter"]
    # A ground only with a withheld item, only one of the list; nothing changes on a refusal.
    with pytest.raises(InvalidInput):
        review_free_text(
            vault, s.worker, s.request_id, {s.plain_item: "released"}, {s.plain_item: "other_persons"}
        )
    with pytest.raises(InvalidInput):
        review_free_text(vault, s.worker, s.request_id, {s.plain_item: "withheld"}, {s.plain_item: "buren"})
    with pytest.raises(InvalidInput):
        review_free_text(
            vault, s.worker, s.request_id, {s.plain_item: "withheld"}, {s.neighbour_item: "reporter"}
        )
    assert {i.item: i.ground for i in list_free_text(vault, s.worker, s.request_id)} == items


def test_d22_only_staff_of_the_case_review_and_only_while_the_request_is_open(
    vault: Vault, setting: Setting
) -> None:
    s = setting
    outsider = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[make_team(vault)]), Role.MEDEWERKER)
    org = make_org(vault, OrgType.LOCAL_TEAM)
    partner = ctx_for(vault, make_user(vault, Role.PARTNER, org_id=org), Role.PARTNER, org_id=org)
    officer = ctx_for(vault, make_user(vault, Role.PRIVACY_OFFICER), Role.PRIVACY_OFFICER)
    for who in (outsider, partner, officer):
        with pytest.raises((Forbidden, NotFound)):
            list_free_text(vault, who, s.request_id)
        with pytest.raises((Forbidden, NotFound)):
            review_free_text(vault, who, s.request_id, {s.neighbour_item: "released"})
    with pytest.raises(NotFound):  # not an item of this copy
        review_free_text(vault, s.worker, s.request_id, {"document_title:" + s.case_id: "released"})
    with pytest.raises(InvalidInput):
        review_free_text(vault, s.worker, s.request_id, {"subject_name:" + s.child: "released"})
    with pytest.raises(InvalidInput):
        review_free_text(vault, s.worker, s.request_id, {s.neighbour_item: "maybe"})
    review_free_text(vault, s.worker, s.request_id, {s.neighbour_item: "withheld", s.plain_item: "withheld"})
    _copy(vault, s, s.request_id)  # D13: the copy made for the request answers it (every item reviewed)
    complete_access_request(vault, s.worker, s.request_id)
    with pytest.raises(Conflict):
        review_free_text(vault, s.worker, s.request_id, {s.neighbour_item: "released"})
    assert NEIGHBOUR not in _copy(vault, s, s.request_id)[1]
    with pytest.raises(NotFound):  # the request must be this subject's, in this case
        export_for_subject(vault, s.worker, s.case_id, s.child, access_request_id=s.case_id)


# --- over HTTP --------------------------------------------------------------------------------------

TEAM = "Team Inzage"


def test_d22_review_and_copy_over_http(client: TestClient, vault: Vault, clock: FrozenClock) -> None:
    worker: ApiUser = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    ctx = ctx_for(vault, worker.user_id, Role.MEDEWERKER)
    team_id = team_id_of(vault, TEAM)  # outside the session: transactions never nest
    with vault.db.session() as session:
        case_id = open_report(
            session, vault, ctx, team_id=team_id, reporter=ReporterFields(name=REPORTER, professional=False)
        ).id
    born = date(2017, 2, 3)  # D13: a representative asks for a minor
    child = add_subject(
        vault, ctx, case_id, relation=Relation.CHILD, fields=PersonFields(name=CHILD, date_of_birth=born)
    )
    doc = upload(vault, ctx, case_id, b"verslag", title=NEIGHBOUR_TITLE)
    r = client.post(
        f"/api/v1/cases/{case_id}/access-requests",
        headers=worker.headers,
        json={"subject_id": child, "received_on": "2026-01-02", "requested_by": BY_PARENT},
    )
    request_id = r.json()["id"]
    copy_url = f"/api/v1/cases/{case_id}/subjects/{child}/inzage"
    r = client.get(copy_url, params={"access_request": request_id}, headers=worker.headers)
    assert r.status_code == 200, r.text
    assert NEIGHBOUR not in r.text
    r = client.get(f"/api/v1/access-requests/{request_id}/free-text", headers=worker.headers)
    assert r.status_code == 200, r.text
    assert [(i["item"], i["text"], i["decision"]) for i in r.json()] == [
        (f"document_title:{doc}", NEIGHBOUR_TITLE, None)
    ]
    bad = client.post(
        f"/api/v1/access-requests/{request_id}/free-text",
        headers=worker.headers,
        json={"decisions": [{"item": "nonsense", "decision": "released"}]},
    )
    assert 400 <= bad.status_code < 500
    r = client.post(
        f"/api/v1/access-requests/{request_id}/free-text",
        headers=worker.headers,
        json={"decisions": [{"item": f"document_title:{doc}", "decision": "released"}]},
    )
    assert r.status_code == 200, r.text
    assert r.json()[0]["decision"] == "released"
    r = client.get(copy_url, params={"access_request": request_id}, headers=worker.headers)
    assert r.json()["documents"][0]["title"] == NEIGHBOUR_TITLE
    pdf = client.get(copy_url, params={"access_request": request_id, "format": "pdf"}, headers=worker.headers)
    assert NEIGHBOUR_TITLE in pdf_text(pdf.content)
    assert NEIGHBOUR not in client.get(copy_url, headers=worker.headers).text
    # D13 over HTTP: withheld with a ground; a ground with a release is refused (4xx, nothing changed).
    item = f"document_title:{doc}"
    refused = client.post(
        f"/api/v1/access-requests/{request_id}/free-text",
        headers=worker.headers,
        json={"decisions": [{"item": item, "decision": "released", "ground": "reporter"}]},
    )
    assert refused.status_code == 400, refused.text
    r = client.post(
        f"/api/v1/access-requests/{request_id}/free-text",
        headers=worker.headers,
        json={"decisions": [{"item": item, "decision": "withheld", "ground": "other_persons"}]},
    )
    assert r.status_code == 200, r.text
    assert r.json()[0]["ground"] == "other_persons"
    listed = client.get(f"/api/v1/access-requests/{request_id}/free-text", headers=worker.headers).json()
    assert [(i["decision"], i["ground"]) for i in listed] == [("withheld", "other_persons")]
    copy = client.get(copy_url, params={"access_request": request_id}, headers=worker.headers).json()
    assert copy["documents"][0]["title_withheld"] == WITHHELD_WITH_GROUND
