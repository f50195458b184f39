"""Issue 16 item 3 (ARCHITECTURE "The one rule", D15, D16): every route that takes a case or document id
— API and web pages — leaves an audit entry on the case when it succeeds, and with the audit log failing
answers 503 with nothing of the case in the answer and nothing recorded.

The routes are walked from the app (``vault.app.create_app``); each has a recipe below that prepares
what it needs and makes one successful call. A new route without a recipe fails
``test_every_case_route_has_a_recipe``. The audit log is made to fail for real: a database trigger
refuses every INSERT into ``audit_entries`` (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.auth.test_route_protection import registered_routes
from tests.helpers import ApiUser, api_user, ctx_for, make_org, make_user, team_id_of
from tests.robustness.support import WebUser, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import Category, OrgType, Role, TriageOutcome
from vault.models import AuditEntry, MonitoringCheck, Subject
from vault.runtime import Vault
from vault.services import assignments, destruction, disclosures, own_motion, retention, subjects, triage
from vault.services.cases import open_help_seeker_advice, open_professional_advice, open_report
from vault.services.documents import upload_document
from vault.services.retention import ExtensionReason
from vault.services.subjects import ConsentScope, PersonFields, Relation, ReporterFields

TEAM = "Team Poort"
OTHER_TEAM = "Team Elders"
# Case data that must never be in a refusal: names, a title, content, a purpose, a recipient.
CHILD = "Kanarie Kind Poortman"
REPORTER = "Kanarie Melder Poortman"
TITLE = "Kanarie verslagtitel"
CONTENT = b"Kanarie dossierinhoud 5e1f"
PURPOSE = "kanarie overdrachtsdoel"
PARTNER_ORG = "Kanarie Lokaal Team"
CANARIES = [CHILD, REPORTER, TITLE, CONTENT.decode(), PURPOSE, PARTNER_ORG]
JUSTIFICATION = "Acute zorg om de veiligheid van het kind vannacht, collega ziek."


@dataclass
class Call:
    client: TestClient
    method: str
    url: str
    case_id: str  # the case the success must leave an entry on
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __call__(self) -> Any:
        return self.client.request(self.method, self.url, follow_redirects=False, **self.kwargs)


class World:
    """One team's report with a subject, a professional reporter, a document and a grant; accounts
    are made when a recipe first needs them (a second-factor check is fresh when it is used)."""

    def __init__(self, vault: Vault, clock: FrozenClock, client: TestClient) -> None:
        self.vault, self.clock, self.client = vault, clock, client
        self.worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
        api_user(client, vault, clock, Role.MEDEWERKER, team=OTHER_TEAM)  # the second team exists
        self.team_id = team_id_of(vault, TEAM)
        self.org_id = make_org(vault, OrgType.LOCAL_TEAM, PARTNER_ORG)
        ctx = self.ctx
        with vault.db.session() as session:
            self.case_id = open_report(
                session,
                vault,
                ctx,
                team_id=self.team_id,
                reporter=ReporterFields(name=REPORTER, professional=True, organisation="School"),
                # D13: born 2016, a minor, for whom a legal representative asks
                subjects=[(Relation.CHILD, PersonFields(name=CHILD, date_of_birth=date(2016, 3, 1)))],
            ).id
        self.document_id = upload_document(
            vault,
            ctx,
            case_id=self.case_id,
            category=Category.SAFETY_CONDITIONS,
            title=TITLE,
            filename="verslag.txt",
            content_type="text/plain",
            chunks=[CONTENT],
        ).document_id
        with vault.db.session() as session:
            self.subject_id = session.scalars(select(Subject.id).where(Subject.case_id == self.case_id)).one()
        self.grant_id = disclosures.create_disclosure(
            vault,
            ctx,
            disclosures.DisclosureRequest(
                contact_name="Marieke de Vries",  # D23
                contact_phone="030 123 45 67",
                case_id=self.case_id,
                org_id=self.org_id,
                purpose=PURPOSE,
                legal_basis="wmo-4.1.1-2-help",
                categories=frozenset({Category.SAFETY_CONDITIONS}),
            ),
        ).id

    @property
    def ctx(self) -> Context:
        return ctx_for(self.vault, self.worker.user_id, Role.MEDEWERKER)

    def staff(self, role: Role, team: str = TEAM) -> Context:
        """A colleague who acts only through services (no login, so the clock stands still)."""
        return ctx_for(self.vault, make_user(self.vault, role, teams=[team_id_of(self.vault, team)]), role)

    @cached_property
    def leader(self) -> ApiUser:
        return api_user(self.client, self.vault, self.clock, Role.TEAMLEIDER, team=TEAM)

    @cached_property
    def officer(self) -> ApiUser:
        return api_user(self.client, self.vault, self.clock, Role.PRIVACY_OFFICER)

    @cached_property
    def web_worker(self) -> WebUser:
        return web_login(self.vault, self.clock, team=TEAM)

    @cached_property
    def web_outsider(self) -> WebUser:
        return web_login(self.vault, self.clock, team=OTHER_TEAM)

    @cached_property
    def web_officer(self) -> WebUser:
        return web_login(self.vault, self.clock, Role.PRIVACY_OFFICER)

    def api(self, method: str, url: str, user: ApiUser | None = None, **kwargs: Any) -> Call:
        headers = {**(user or self.worker).headers, **kwargs.pop("headers", {})}
        return Call(
            self.client, method, url, kwargs.pop("case_id", self.case_id), {"headers": headers, **kwargs}
        )

    def web(
        self, method: str, url: str, user: WebUser, form: dict[str, Any] | None = None, **kwargs: Any
    ) -> Call:
        headers = {"Sec-Fetch-Site": "same-origin", **kwargs.pop("headers", {})}
        if form is not None:
            kwargs["data"] = {**form, "csrf_token": user.csrf}
        return Call(user.client, method, url, self.case_id, {"headers": headers, **kwargs})

    def advice_case(self) -> str:
        with self.vault.db.session() as session:
            return open_help_seeker_advice(session, self.vault, self.ctx, team_id=self.team_id).id

    def conversion(self) -> tuple[str, str]:
        advice = self.advice_case()
        return advice, own_motion.request_own_motion(self.vault, self.ctx, advice, reason="Acuut risico.")


Recipe = Callable[[World], Call]
C, D = "/api/v1/cases/{case_id}", "/api/v1/documents/{document_id}"


def _destroyed(w: World) -> Call:
    with w.vault.db.session() as session:
        case_id = open_help_seeker_advice(session, w.vault, w.ctx, team_id=w.team_id).id
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=w.vault.clock)
    destruction.destroy_case(w.vault, operator, case_id, reason="request_granted")
    return w.api("GET", f"/api/v1/cases/{case_id}/certificate", case_id=case_id)


def _unassign(w: World) -> Call:
    colleague = make_user(w.vault, Role.MEDEWERKER, teams=[team_id_of(w.vault, OTHER_TEAM)])
    leader_ctx = ctx_for(w.vault, w.leader.user_id, Role.TEAMLEIDER)
    assignments.assign_case(w.vault, leader_ctx, w.case_id, colleague)
    return w.api("DELETE", f"/api/v1/cases/{w.case_id}/assignments/{colleague}", w.leader)


def _lift_hold(w: World) -> Call:
    leader_ctx = ctx_for(w.vault, w.leader.user_id, Role.TEAMLEIDER)
    until = w.clock.now() + timedelta(days=730)
    retention.extend_retention(
        w.vault, leader_ctx, w.case_id, until=until, reason=ExtensionReason.LEGAL_PROCEEDINGS
    )
    return w.api(
        "POST", f"/api/v1/cases/{w.case_id}/legal-hold/lift", w.leader, json={"reason": "proceedings_ended"}
    )


def _withdraw(w: World) -> Call:
    consent = subjects.record_consent(
        w.vault, w.ctx, w.case_id, scope=ConsentScope.REGISTER_PERSONAL_DATA, given_by=Relation.HELP_SEEKER
    )
    return w.api("POST", f"/api/v1/cases/{w.case_id}/consents/{consent}/withdraw")


def _meldcode(w: World) -> Call:
    professional = make_user(w.vault, Role.PROFESSIONAL)
    with w.vault.db.session() as session:
        case_id = open_professional_advice(
            session, w.vault, w.ctx, professional_id=professional, meldcode_step=1, team_id=w.team_id
        ).id
    return w.api("PUT", f"/api/v1/cases/{case_id}/meldcode-step", json={"step": 2}, case_id=case_id)


def _investigation(w: World) -> Call:
    triage.record_triage_outcome(w.vault, w.ctx, w.case_id, TriageOutcome.INVESTIGATION)
    return w.api("POST", f"/api/v1/cases/{w.case_id}/investigation", json={"started_on": str(_today(w))})


def _monitoring(w: World) -> Call:
    triage.record_triage_outcome(w.vault, w.ctx, w.case_id, TriageOutcome.INVESTIGATION)
    triage.record_investigation(w.vault, w.ctx, w.case_id, started_on=_today(w))
    due = triage.record_investigation(w.vault, w.ctx, w.case_id, ended_on=_today(w))
    assert due
    with w.vault.db.session() as session:
        # D7: only a moment that is due may be marked done (``d7-not-due-yet``): make them due today.
        for moment in session.scalars(select(MonitoringCheck).where(MonitoringCheck.case_id == w.case_id)):
            moment.due_on = _today(w)
        check = session.scalars(
            select(MonitoringCheck.id).where(MonitoringCheck.case_id == w.case_id)
        ).first()
    return w.api("POST", f"/api/v1/cases/{w.case_id}/monitoring/{check}/done")


def _today(w: World) -> date:
    from vault.services.calendar import local_date

    return local_date(w.clock.now())


def _own_motion(w: World) -> Call:
    advice = w.advice_case()
    return w.api(
        "POST", f"/api/v1/cases/{advice}/own-motion", json={"reason": "Acuut risico."}, case_id=advice
    )


def _approve(w: World) -> Call:
    advice, conversion = w.conversion()
    return w.api("POST", f"/api/v1/cases/{advice}/own-motion/{conversion}/approve", case_id=advice)


def _convert(w: World) -> Call:
    advice, conversion = w.conversion()
    own_motion.approve_own_motion(w.vault, w.ctx, advice, conversion)
    own_motion.approve_own_motion(w.vault, w.staff(Role.VERTROUWENSARTS), advice, conversion)
    return w.api("POST", f"/api/v1/cases/{advice}/own-motion/{conversion}/convert", case_id=advice)


def _withdraw_own_motion(w: World) -> Call:
    # D4: a team leader of the case's team withdraws a colleague's pending request.
    advice, conversion = w.conversion()
    return w.api("POST", f"/api/v1/cases/{advice}/own-motion/{conversion}/withdraw", w.leader, case_id=advice)


def _decline(w: World) -> Call:
    # D4: a staff member of the case who did not ask for it declines, with a reason code.
    advice = w.advice_case()
    asked = w.staff(Role.MEDEWERKER)
    conversion = own_motion.request_own_motion(w.vault, asked, advice, reason="Acuut risico.")
    url = f"/api/v1/cases/{advice}/own-motion/{conversion}/decline"
    return w.api("POST", url, json={"reason": "talk_first"}, case_id=advice)


def _web_withdraw(w: World) -> Call:
    advice, conversion = w.conversion()
    url = f"/zaken/{advice}/ambtshalve/{conversion}/intrekken"
    return _web_on(w.web("POST", url, _web_leader(w), {}), advice)


def _web_decline(w: World) -> Call:
    advice, conversion = w.conversion()
    url = f"/zaken/{advice}/ambtshalve/{conversion}/afwijzen"
    return _web_on(w.web("POST", url, w.web_worker, {"decline_reason": "not_acute"}), advice)


# H4: the case workflow pages and the postponement (D4, D6, D7, D11).
def _open_monitoring(w: World) -> str:
    _monitoring(w)
    with w.vault.db.session() as session:
        found = select(MonitoringCheck.id).where(MonitoringCheck.case_id == w.case_id)
        check = session.scalars(found).first()
    assert check is not None
    return check


def _postpone_form(w: World) -> dict[str, str]:
    from datetime import timedelta

    return {"reason": "family_unreachable", "until": str(_today(w) + timedelta(days=100))}


def _web_on(call: Call, case_id: str) -> Call:
    call.case_id = case_id
    return call


def _web_leader(w: World) -> WebUser:
    return web_login(w.vault, w.clock, Role.TEAMLEIDER, team=TEAM)


def _web_unassign(w: World) -> Call:
    leader = _web_leader(w)
    colleague = w.staff(Role.MEDEWERKER).actor_id
    assert colleague is not None
    leader_ctx = ctx_for(w.vault, leader.user_id, Role.TEAMLEIDER)
    assignments.assign_case(w.vault, leader_ctx, w.case_id, colleague)
    return w.web("POST", f"/zaken/{w.case_id}/toewijzing/{colleague}/beeindigen", leader, {})


def _web_lift_hold(w: World) -> Call:
    # D12: the team leader lifts the case's legal hold from the retention page, with a reason code.
    leader = _web_leader(w)
    leader_ctx = ctx_for(w.vault, leader.user_id, Role.TEAMLEIDER)
    until = w.clock.now() + timedelta(days=730)
    retention.extend_retention(
        w.vault, leader_ctx, w.case_id, until=until, reason=ExtensionReason.LEGAL_PROCEEDINGS
    )
    return w.web(
        "POST", f"/zaken/{w.case_id}/bewaartermijn/opheffen", leader, {"lift_reason": "placed_in_error"}
    )


def _web_approve(w: World) -> Call:
    advice, conversion = w.conversion()
    url = f"/zaken/{advice}/ambtshalve/{conversion}/goedkeuren"
    return _web_on(w.web("POST", url, w.web_worker, {}), advice)


WORKFLOW_RECIPES: dict[tuple[str, str], Recipe] = {
    ("POST", C + "/monitoring/{monitoring_id}/postpone"): lambda w: w.api(
        "POST",
        f"/api/v1/cases/{w.case_id}/monitoring/{_open_monitoring(w)}/postpone",
        json=_postpone_form(w),
    ),
    ("GET", "/zaken/{case_id}/triage"): lambda w: w.web("GET", f"/zaken/{w.case_id}/triage", w.web_worker),
    ("POST", "/zaken/{case_id}/triage"): lambda w: w.web(
        "POST", f"/zaken/{w.case_id}/triage", w.web_worker, {"outcome": "investigation"}
    ),
    ("GET", "/zaken/{case_id}/onderzoek"): lambda w: w.web(
        "GET", f"/zaken/{w.case_id}/onderzoek", w.web_worker
    ),
    ("POST", "/zaken/{case_id}/onderzoek"): lambda w: (
        triage.record_triage_outcome(w.vault, w.ctx, w.case_id, TriageOutcome.INVESTIGATION),
        w.web("POST", f"/zaken/{w.case_id}/onderzoek", w.web_worker, {"started_on": str(_today(w))}),
    )[1],
    ("POST", "/zaken/{case_id}/monitoring/{monitoring_id}/gedaan"): lambda w: w.web(
        "POST", f"/zaken/{w.case_id}/monitoring/{_open_monitoring(w)}/gedaan", w.web_worker, {}
    ),
    ("GET", "/zaken/{case_id}/monitoring/{monitoring_id}/uitstellen"): lambda w: w.web(
        "GET", f"/zaken/{w.case_id}/monitoring/{_open_monitoring(w)}/uitstellen", w.web_worker
    ),
    ("POST", "/zaken/{case_id}/monitoring/{monitoring_id}/uitstellen"): lambda w: w.web(
        "POST",
        f"/zaken/{w.case_id}/monitoring/{_open_monitoring(w)}/uitstellen",
        w.web_worker,
        _postpone_form(w),
    ),
    ("GET", "/zaken/{case_id}/ambtshalve"): lambda w: (
        lambda advice: _web_on(w.web("GET", f"/zaken/{advice}/ambtshalve", w.web_worker), advice)
    )(w.advice_case()),
    ("POST", "/zaken/{case_id}/ambtshalve"): lambda w: (
        lambda advice: _web_on(
            w.web("POST", f"/zaken/{advice}/ambtshalve", w.web_worker, {"reason": "Acuut risico, kind."}),
            advice,
        )
    )(w.advice_case()),
    ("POST", "/zaken/{case_id}/ambtshalve/{conversion_id}/goedkeuren"): _web_approve,
    ("POST", "/zaken/{case_id}/ambtshalve/{conversion_id}/intrekken"): _web_withdraw,
    ("POST", "/zaken/{case_id}/ambtshalve/{conversion_id}/afwijzen"): _web_decline,
    ("GET", "/zaken/{case_id}/toewijzing"): lambda w: w.web(
        "GET", f"/zaken/{w.case_id}/toewijzing", w.web_worker
    ),
    ("POST", "/zaken/{case_id}/toewijzing"): lambda w: (
        lambda leader: w.web(
            "POST", f"/zaken/{w.case_id}/toewijzing", leader, {"user_id": w.staff(Role.MEDEWERKER).actor_id}
        )
    )(_web_leader(w)),
    ("POST", "/zaken/{case_id}/toewijzing/{user_id}/beeindigen"): _web_unassign,
    ("GET", "/zaken/{case_id}/bewaartermijn"): lambda w: w.web(
        "GET", f"/zaken/{w.case_id}/bewaartermijn", w.web_worker
    ),
    ("POST", "/zaken/{case_id}/bewaartermijn"): lambda w: w.web(
        "POST",
        f"/zaken/{w.case_id}/bewaartermijn",
        _web_leader(w),
        {"reason": "legal_proceedings", "until": "01-01-2050"},
    ),
    ("POST", "/zaken/{case_id}/bewaartermijn/opheffen"): _web_lift_hold,
}


def _upload_headers(title: str = "Nieuw verslag") -> dict[str, str]:
    return {"X-Document-Title": title, "X-Document-Filename": "nieuw.txt", "Content-Type": "text/plain"}


RECIPES: dict[tuple[str, str], Recipe] = {
    ("POST", C + "/documents"): lambda w: w.api(
        "POST",
        f"/api/v1/cases/{w.case_id}/documents",
        params={"category": "report"},
        content=b"nieuw",
        headers=_upload_headers(),
    ),
    ("GET", D + "/content"): lambda w: w.api("GET", f"/api/v1/documents/{w.document_id}/content"),
    ("POST", C + "/disclosures"): lambda w: w.api(
        "POST",
        f"/api/v1/cases/{w.case_id}/disclosures",
        json={
            "org_id": w.org_id,
            "purpose": "overdracht",
            "legal_basis": "wmo-4.1.1-2-help",
            "contact_name": "Marieke de Vries",  # D23
            "contact_phone": "030 123 45 67",
            "categories": ["safety_conditions"],
            "confirm_duplicate": True,  # the world's grant already covers the safety conditions
        },
    ),
    ("GET", C + "/disclosures"): lambda w: w.api("GET", f"/api/v1/cases/{w.case_id}/disclosures"),
    ("GET", C + "/reporter-feedback"): lambda w: w.api("GET", f"/api/v1/cases/{w.case_id}/reporter-feedback"),
    ("PUT", C + "/assignments/{user_id}"): lambda w: w.api(
        "PUT",
        f"/api/v1/cases/{w.case_id}/assignments/{w.staff(Role.MEDEWERKER, OTHER_TEAM).actor_id}",
        w.leader,
    ),
    ("DELETE", C + "/assignments/{user_id}"): _unassign,
    ("POST", C + "/destruction-requests"): lambda w: w.api(
        "POST", f"/api/v1/cases/{w.case_id}/destruction-requests", json={"received_on": "2026-02-20"}
    ),
    ("GET", C + "/certificate"): _destroyed,
    ("POST", C + "/retention"): lambda w: w.api(
        "POST",
        f"/api/v1/cases/{w.case_id}/retention",
        w.leader,
        json={"until": "2047-01-01T00:00:00+00:00", "reason": "legal_proceedings"},
    ),
    ("POST", C + "/legal-hold/lift"): _lift_hold,
    ("POST", C + "/statements"): lambda w: w.api(
        "POST",
        f"/api/v1/cases/{w.case_id}/statements",
        content=b"mijn zienswijze",
        headers={**_upload_headers("Zienswijze"), "X-Refers-To": w.document_id},
    ),
    ("GET", C + "/subjects/{subject_id}/inzage"): lambda w: w.api(
        "GET", f"/api/v1/cases/{w.case_id}/subjects/{w.subject_id}/inzage"
    ),
    ("POST", C + "/access-requests"): lambda w: w.api(
        "POST",
        f"/api/v1/cases/{w.case_id}/access-requests",
        json={"subject_id": w.subject_id, "received_on": "2026-02-20", "requested_by": "representative"},
    ),
    ("GET", "/api/v1/audit/cases/{case_id}/access-report"): lambda w: w.api(
        "GET", f"/api/v1/audit/cases/{w.case_id}/access-report", w.officer
    ),
    ("GET", "/api/v1/audit/cases/{case_id}/access-report/bundle"): lambda w: w.api(
        "GET", f"/api/v1/audit/cases/{w.case_id}/access-report/bundle", w.officer
    ),
    ("GET", C): lambda w: w.api("GET", f"/api/v1/cases/{w.case_id}"),
    ("POST", C + "/view"): lambda w: w.api(
        "POST", f"/api/v1/cases/{w.case_id}/view", json={"include_reporter_identity": True}
    ),
    ("POST", C + "/subjects"): lambda w: w.api(
        "POST", f"/api/v1/cases/{w.case_id}/subjects", json={"relation": "parent", "name": "Ouder Poortman"}
    ),
    ("POST", C + "/consents"): lambda w: w.api(
        "POST",
        f"/api/v1/cases/{w.case_id}/consents",
        json={"scope": "register_personal_data", "given_by": "help_seeker"},
    ),
    ("POST", C + "/consents/{consent_id}/withdraw"): _withdraw,
    ("POST", C + "/reporter/consent"): lambda w: w.api("POST", f"/api/v1/cases/{w.case_id}/reporter/consent"),
    ("POST", C + "/reporter/release"): lambda w: w.api(
        "POST", f"/api/v1/cases/{w.case_id}/reporter/release", json={"reason": "Melder stemt in, school."}
    ),
    ("PUT", C + "/meldcode-step"): _meldcode,
    ("POST", C + "/triage"): lambda w: w.api(
        "POST", f"/api/v1/cases/{w.case_id}/triage", json={"outcome": "investigation"}
    ),
    ("POST", C + "/investigation"): _investigation,
    ("POST", C + "/monitoring/{monitoring_id}/done"): _monitoring,
    ("POST", C + "/own-motion"): _own_motion,
    ("POST", C + "/own-motion/{conversion_id}/approve"): _approve,
    ("POST", C + "/own-motion/{conversion_id}/convert"): _convert,
    ("POST", C + "/own-motion/{conversion_id}/withdraw"): _withdraw_own_motion,
    ("POST", C + "/own-motion/{conversion_id}/decline"): _decline,
    # D21: a protected dossier (team leader or privacy officer; audited dossier:case:protection-changed)
    ("PUT", C + "/protection"): lambda w: w.api(
        "PUT", f"/api/v1/cases/{w.case_id}/protection", w.leader, json={"protected": True}
    ),
    # The web pages.
    ("GET", "/zaken/{case_id}"): lambda w: w.web("GET", f"/zaken/{w.case_id}", w.web_worker),
    # H2: the page after opening (reference, triage deadline, earlier advice).
    ("GET", "/zaken/{case_id}/geopend"): lambda w: w.web("GET", f"/zaken/{w.case_id}/geopend", w.web_worker),
    ("GET", "/zaken/{case_id}/eerder-advies"): lambda w: w.web(
        "GET", f"/zaken/{w.case_id}/eerder-advies", w.web_worker
    ),
    ("POST", "/zaken/{case_id}/eerder-advies"): lambda w: w.web(
        "POST",
        f"/zaken/{w.case_id}/eerder-advies",
        web_login(w.vault, w.clock, Role.TEAMLEIDER, team=TEAM),
        {"explanation": "Melding over hetzelfde kind als eerder advies."},
    ),
    ("POST", C + "/earlier-advice"): lambda w: w.api(
        "POST",
        f"/api/v1/cases/{w.case_id}/earlier-advice",
        w.leader,
        json={"explanation": "Melding over hetzelfde kind als eerder advies."},
    ),
    # Journal notes (H5): API and pages.
    ("POST", C + "/notes"): lambda w: w.api(
        "POST", f"/api/v1/cases/{w.case_id}/notes", json={"text": "Notitie"}
    ),
    ("GET", C + "/notes"): lambda w: w.api("GET", f"/api/v1/cases/{w.case_id}/notes"),
    # The timeline (H1): a gate read of the case.
    ("GET", C + "/timeline"): lambda w: w.api("GET", f"/api/v1/cases/{w.case_id}/timeline"),
    ("GET", "/zaken/{case_id}/aantekeningen/nieuw"): lambda w: w.web(
        "GET", f"/zaken/{w.case_id}/aantekeningen/nieuw", w.web_worker
    ),
    ("POST", "/zaken/{case_id}/aantekeningen"): lambda w: w.web(
        "POST", f"/zaken/{w.case_id}/aantekeningen", w.web_worker, {"tekst": "Notitie"}
    ),
    ("POST", "/zaken/{case_id}/noodtoegang"): lambda w: w.web(
        "POST", f"/zaken/{w.case_id}/noodtoegang", w.web_outsider, {"justification": JUSTIFICATION}
    ),
    ("POST", "/zaken/{case_id}/documenten"): lambda w: w.web(
        "POST",
        f"/zaken/{w.case_id}/documenten",
        w.web_worker,
        content=b"nieuw",
        headers={**_upload_headers(), "X-Document-Category": "report", "X-CSRF-Token": w.web_worker.csrf},
    ),
    ("GET", "/documenten/{document_id}/inhoud"): lambda w: w.web(
        "GET", f"/documenten/{w.document_id}/inhoud", w.web_worker
    ),
    # D20: a document read from the break-the-glass view, the justification re-carried in the body
    ("POST", "/zaken/{case_id}/noodtoegang/documenten/{document_id}"): lambda w: w.web(
        "POST",
        f"/zaken/{w.case_id}/noodtoegang/documenten/{w.document_id}",
        w.web_outsider,
        {"justification": JUSTIFICATION},
    ),
    ("GET", "/zaken/{case_id}/delen"): lambda w: w.web("GET", f"/zaken/{w.case_id}/delen", w.web_worker),
    ("POST", "/zaken/{case_id}/delen"): lambda w: w.web(
        "POST",
        f"/zaken/{w.case_id}/delen",
        w.web_worker,
        {
            "org_id": w.org_id,
            "purpose": "overdracht",
            "legal_basis": "wmo-4.1.1-2-help",
            "contact_name": "Marieke de Vries",  # D23
            "contact_phone": "030 123 45 67",
            "categories": "safety_conditions",
            "toch_delen": "1",  # the world's grant already covers the safety conditions
        },
    ),
    ("GET", "/zaken/{case_id}/verstrekkingen/{grant_id}/intrekken"): lambda w: w.web(
        "GET", f"/zaken/{w.case_id}/verstrekkingen/{w.grant_id}/intrekken", w.web_worker
    ),
    ("POST", "/zaken/{case_id}/verstrekkingen/{grant_id}/intrekken"): lambda w: w.web(
        "POST", f"/zaken/{w.case_id}/verstrekkingen/{w.grant_id}/intrekken", w.web_worker, {}
    ),
    ("GET", "/zaken/{case_id}/verstrekkingen/{grant_id}/verlengen"): lambda w: w.web(
        "GET", f"/zaken/{w.case_id}/verstrekkingen/{w.grant_id}/verlengen", w.web_worker
    ),
    ("POST", "/zaken/{case_id}/verstrekkingen/{grant_id}/verlengen"): lambda w: w.web(
        "POST",
        f"/zaken/{w.case_id}/verstrekkingen/{w.grant_id}/verlengen",
        w.web_worker,
        {"valid_until": (w.clock.now() + timedelta(days=60)).strftime("%d-%m-%Y")},
    ),
    ("GET", "/fg/toegang/{case_id}"): lambda w: w.web("GET", f"/fg/toegang/{w.case_id}", w.web_officer),
    ("GET", "/fg/toegang/{case_id}/bewijs"): lambda w: w.web(
        "GET", f"/fg/toegang/{w.case_id}/bewijs", w.web_officer
    ),
    ("GET", "/fg/toegang/{case_id}/pdf"): lambda w: w.web(
        "GET", f"/fg/toegang/{w.case_id}/pdf", w.web_officer
    ),
}
RECIPES.update(WORKFLOW_RECIPES)


# H6: subjects' rights in the browser (requests, certificate, statement) and the case's request list.
def _web_certificate(w: World, suffix: str) -> Call:
    api_call = _destroyed(w)
    page = w.web(
        "GET",
        api_call.url.replace("/api/v1/cases/", "/zaken/").replace(
            "/certificate", "/vernietigingsverklaring" + suffix
        ),
        w.web_worker,
    )
    page.case_id = api_call.case_id
    return page


def _statement(w: World) -> Call:
    return w.web(
        "POST",
        f"/zaken/{w.case_id}/documenten/{w.document_id}/zienswijze",
        w.web_worker,
        {"title": "Zienswijze", "text": "Zo is het niet gegaan."},
        files={"file": ("", b"", "application/octet-stream")},
    )


RIGHTS_RECIPES: dict[tuple[str, str], Recipe] = {
    ("GET", C + "/rights-requests"): lambda w: w.api("GET", f"/api/v1/cases/{w.case_id}/rights-requests"),
    ("GET", "/zaken/{case_id}/inzageverzoek"): lambda w: w.web(
        "GET", f"/zaken/{w.case_id}/inzageverzoek", w.web_worker
    ),
    ("POST", "/zaken/{case_id}/inzageverzoek"): lambda w: w.web(
        "POST",
        f"/zaken/{w.case_id}/inzageverzoek",
        w.web_worker,
        {"subject_id": w.subject_id, "received_on": "20-02-2026", "requested_by": "representative"},
    ),
    ("GET", "/zaken/{case_id}/vernietigingsverzoek"): lambda w: w.web(
        "GET", f"/zaken/{w.case_id}/vernietigingsverzoek", w.web_worker
    ),
    ("POST", "/zaken/{case_id}/vernietigingsverzoek"): lambda w: w.web(
        "POST", f"/zaken/{w.case_id}/vernietigingsverzoek", w.web_worker, {"received_on": "20-02-2026"}
    ),
    ("GET", "/zaken/{case_id}/vernietigingsverklaring"): lambda w: _web_certificate(w, ""),
    ("GET", "/zaken/{case_id}/vernietigingsverklaring.pdf"): lambda w: _web_certificate(w, ".pdf"),
    ("GET", "/zaken/{case_id}/documenten/{document_id}/zienswijze"): lambda w: w.web(
        "GET", f"/zaken/{w.case_id}/documenten/{w.document_id}/zienswijze", w.web_worker
    ),
    ("POST", "/zaken/{case_id}/documenten/{document_id}/zienswijze"): _statement,
}
RECIPES.update(RIGHTS_RECIPES)


# H3: people, consent and the reporter (D2, D8, D9) — API and browser.
def _consent(w: World) -> str:
    return subjects.record_consent(
        w.vault, w.ctx, w.case_id, scope=ConsentScope.REGISTER_PERSONAL_DATA, given_by=Relation.HELP_SEEKER
    )


_PERSON = {"relation": "child", "name": "Kind Poortman", "date_of_birth": "01-03-2015"}
PEOPLE_RECIPES: dict[tuple[str, str], Recipe] = {
    ("PUT", C + "/subjects/{subject_id}"): lambda w: w.api(
        "PUT",
        f"/api/v1/cases/{w.case_id}/subjects/{w.subject_id}",
        json={"relation": "child", "name": "Kind P."},
    ),
    ("GET", C + "/consents/{consent_id}/grants"): lambda w: w.api(
        "GET", f"/api/v1/cases/{w.case_id}/consents/{_consent(w)}/grants"
    ),
    ("GET", "/zaken/{case_id}/betrokkenen/nieuw"): lambda w: w.web(
        "GET", f"/zaken/{w.case_id}/betrokkenen/nieuw", w.web_worker
    ),
    ("POST", "/zaken/{case_id}/betrokkenen"): lambda w: w.web(
        "POST", f"/zaken/{w.case_id}/betrokkenen", w.web_worker, _PERSON
    ),
    ("GET", "/zaken/{case_id}/betrokkenen/{subject_id}/corrigeren"): lambda w: w.web(
        "GET", f"/zaken/{w.case_id}/betrokkenen/{w.subject_id}/corrigeren", w.web_worker
    ),
    ("POST", "/zaken/{case_id}/betrokkenen/{subject_id}/corrigeren"): lambda w: w.web(
        "POST", f"/zaken/{w.case_id}/betrokkenen/{w.subject_id}/corrigeren", w.web_worker, _PERSON
    ),
    ("GET", "/zaken/{case_id}/toestemmingen/nieuw"): lambda w: w.web(
        "GET", f"/zaken/{w.case_id}/toestemmingen/nieuw", w.web_worker
    ),
    ("POST", "/zaken/{case_id}/toestemmingen"): lambda w: w.web(
        "POST",
        f"/zaken/{w.case_id}/toestemmingen",
        w.web_worker,
        {"scope": "register_personal_data", "given_by": "help_seeker"},
    ),
    ("GET", "/zaken/{case_id}/toestemmingen/{consent_id}/intrekken"): lambda w: w.web(
        "GET", f"/zaken/{w.case_id}/toestemmingen/{_consent(w)}/intrekken", w.web_worker
    ),
    ("POST", "/zaken/{case_id}/toestemmingen/{consent_id}/intrekken"): lambda w: w.web(
        "POST", f"/zaken/{w.case_id}/toestemmingen/{_consent(w)}/intrekken", w.web_worker, {}
    ),
    ("POST", "/zaken/{case_id}/melder"): lambda w: w.web(
        "POST", f"/zaken/{w.case_id}/melder", w.web_worker, {}
    ),
    ("GET", "/zaken/{case_id}/melder/toestemming"): lambda w: w.web(
        "GET", f"/zaken/{w.case_id}/melder/toestemming", w.web_worker
    ),
    ("POST", "/zaken/{case_id}/melder/toestemming"): lambda w: w.web(
        "POST", f"/zaken/{w.case_id}/melder/toestemming", w.web_worker, {}
    ),
    ("GET", "/zaken/{case_id}/melder/vrijgeven"): lambda w: w.web(
        "GET", f"/zaken/{w.case_id}/melder/vrijgeven", w.web_worker
    ),
    ("POST", "/zaken/{case_id}/melder/vrijgeven"): lambda w: w.web(
        "POST", f"/zaken/{w.case_id}/melder/vrijgeven", w.web_worker, {"reason": "De school weet het al."}
    ),
}
RECIPES.update(PEOPLE_RECIPES)
# Routes with a case id that read nothing of the case, named with the reason.
EXEMPT = {
    ("GET", "/zaken/{case_id}/noodtoegang"): (
        "the break-the-glass form: it shows only the reference of the id the user typed (a policy preview "
        "decides whether the form is offered; nothing of the case is read)"
    ),
}


def test_every_case_route_has_a_recipe(vault: Vault) -> None:
    taking_an_id = {
        (method, path)
        for method, path, _ in registered_routes(create_app(vault))
        if "{case_id}" in path or "{document_id}" in path
    }
    assert taking_an_id == set(RECIPES) | set(EXEMPT)


def _entries(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _case_entries(vault: Vault, case_id: str, after: int) -> list[str]:
    with vault.db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry.tag).where(AuditEntry.seq > after, AuditEntry.case_id == case_id)
            )
        )


def _audit_log_fails(vault: Vault, failing: bool) -> None:
    """A trigger that refuses every new audit entry (the same on SQLite and PostgreSQL)."""
    with vault.db.engine.begin() as conn:
        if not failing:
            conn.exec_driver_sql(
                "DROP TRIGGER refuse_audit" + ("" if vault.db.is_sqlite else " ON audit_entries")
            )
        elif vault.db.is_sqlite:
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries "
                "BEGIN SELECT RAISE(ABORT, 'x'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries "
                "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()"
            )


@pytest.mark.parametrize(("method", "path"), sorted(RECIPES), ids=[f"{m} {p}" for m, p in sorted(RECIPES)])
def test_d16_case_route_is_audited_and_fails_closed_without_the_audit_log(
    method: str, path: str, vault: Vault, clock: FrozenClock, client: TestClient
) -> None:
    call = RECIPES[(method, path)](World(vault, clock, client))
    before = _entries(vault)
    _audit_log_fails(vault, True)
    try:
        refused = call()
    finally:
        _audit_log_fails(vault, False)
    assert refused.status_code == 503, refused.text[:500]
    for canary in CANARIES:
        assert canary.encode() not in refused.content, canary
    assert _entries(vault) == before  # nothing half-recorded

    answer = call()
    assert 200 <= answer.status_code < 300 or (answer.status_code == 303 and path.startswith("/zaken")), (
        answer.status_code,
        answer.text[:500],
    )
    assert _case_entries(vault, call.case_id, before), "a success without an audit entry on the case"


def test_the_tags_of_audited_reads_have_a_dutch_label() -> None:
    from vault.domain import AuditTag
    from vault.labels import AUDIT_TAGS

    for tag in (
        AuditTag.DISCLOSURE_REGISTER_READ,
        AuditTag.DISCLOSURE_CONSENTS_LISTED,
        AuditTag.RIGHTS_DESTRUCTION_LISTED,
        AuditTag.RIGHTS_CERTIFICATE_READ,
    ):
        assert AUDIT_TAGS.get(str(tag)), tag
