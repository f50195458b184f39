"""Subjects' rights in the browser: the work list of requests, the case's rights panel, and an access
request from intake to the inzage copy (D13, D22). Destruction and statements: ``rights_destruction``.

Every rule lives in the services (``vault.services.rights``, ``inzage``, ``inzage_review``,
``request_views``), which decide through the gate and audit as they do for the API; the pages only ask.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from vault import labels
from vault.domain import STAFF_ROLES, reference_of
from vault.errors import Conflict, InvalidInput, StepUpRequired
from vault.http.deps import VaultDep
from vault.http.downloads import download_headers
from vault.http.params import UUID_PATTERN, CaseId
from vault.labels import RELATIONS, label
from vault.runtime import Vault
from vault.services import destruction, inzage, inzage_review, request_views, rights
from vault.services.calendar import local_date
from vault.services.case_view import CaseView, SubjectView, read_subjects
from vault.web.csrf import VerifiedForm
from vault.web.fg_reports import parse_day
from vault.web.render import page, see_other
from vault.web.routes.panels import PanelValues
from vault.web.session import WebActor, WebUser

router = APIRouter(include_in_schema=False)

# D13: why a request in the subject's own name is refused, by the service's rule.
AGE_REFUSALS = {
    rights.UNDER_12_RULE: (
        "Deze betrokkene is jonger dan 12 jaar: een wettelijk vertegenwoordiger (ouder met gezag of "
        "voogd) doet het verzoek."
    ),
    rights.AGE_UNKNOWN_RULE: (
        "De geboortedatum van dit kind is niet vastgelegd, dus het kan jonger zijn dan 12 jaar. Leg "
        "eerst de geboortedatum vast, of kies de wettelijk vertegenwoordiger."
    ),
    rights.REPRESENTATIVE_MINOR_ONLY_RULE: (
        "Een vertegenwoordiger kan alleen inzage vragen voor een minderjarige. Deze betrokkene was op "
        "de datum van ontvangst 18 jaar of ouder en vraagt zelf om inzage."
    ),
    rights.REPRESENTATIVE_16_PLUS_RULE: (
        "Deze betrokkene was op de datum van ontvangst 16 of 17 jaar en vraagt zelf om inzage. Een "
        "vertegenwoordiger krijgt de kopie alleen als de jongere daarmee instemt: vink dat aan als die "
        "instemming is vastgesteld."
    ),
    rights.REPRESENTATIVE_AGE_UNKNOWN_RULE: (
        "Een vertegenwoordiger kan alleen inzage vragen voor een minderjarige. De geboortedatum van deze "
        "betrokkene is niet vastgelegd, dus dat is niet na te gaan. Leg eerst de geboortedatum vast."
    ),
}

# D13: why a request is closed without an inzage copy made for it (``rights.AccessClosing``).
CLOSING_REASONS = {
    rights.AccessClosing.WITHDRAWN: "De verzoeker heeft het verzoek ingetrokken",
    rights.AccessClosing.IDENTITY_NOT_ESTABLISHED: (
        "Geweigerd: de identiteit van de verzoeker is niet vastgesteld (AVG art. 12 lid 2 en 6)"
    ),
    rights.AccessClosing.MANIFESTLY_UNFOUNDED: (
        "Geweigerd: het verzoek is kennelijk ongegrond of buitensporig (AVG art. 12 lid 5)"
    ),
}
# D13: how a closed request reads on its page ("Gesloten: ..."), after the reason it was closed with.
CLOSED_AS: dict[str, str] = {
    rights.AccessClosing.WITHDRAWN: "ingetrokken door de verzoeker",
    rights.AccessClosing.IDENTITY_NOT_ESTABLISHED: (
        "geweigerd, de identiteit van de verzoeker is niet vastgesteld (AVG art. 12 lid 2 en 6)"
    ),
    rights.AccessClosing.MANIFESTLY_UNFOUNDED: (
        "geweigerd, het verzoek is kennelijk ongegrond of buitensporig (AVG art. 12 lid 5)"
    ),
}
NO_COPY_YET = (
    "Voor dit verzoek is nog geen inzagekopie gemaakt. Maak eerst de kopie (stap 2), of sluit het "
    "verzoek hieronder af met een reden."
)

NOT_ALL_REVIEWED = (
    "Niet elke vrije tekst van de kopie is beoordeeld. Geef bij elke titel en aantekening aan of u die "
    "vrijgeeft of achterhoudt (stap 1), maak de kopie opnieuw en handel het verzoek dan af."
)
RELEASE_NAMES_REPORTER = (
    "Een tekst die u wilt vrijgeven noemt de melder. De identiteit van de melder blijft beschermd "
    "(Uitvoeringsbesluit Wmo 2015 art. 4.1.8 lid 3): houd die tekst achter. Er is niets opgeslagen."
)

ALREADY_RECORDED = (
    "Dit verzoek van deze betrokkene, met deze datum van ontvangst, is al vastgelegd en staat nog open "
    "(het formulier is misschien twee keer verstuurd). Er is niets opnieuw vastgelegd; u vindt het "
    "verzoek bij de zaak onder Verzoeken van betrokkenen."
)
RequestId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36)]

# D13: the choices of the review form: release, or withhold with its ground (the copy names it).
REVIEW_CHOICES = {
    "released": "Vrijgeven",
    "withheld:other_persons": "Achterhouden: privacy van anderen",
    "withheld:reporter": "Achterhouden: bescherming van de melder",
    "withheld": "Achterhouden om een andere reden",
}


def panel(request: Request, vault: Vault, actor: WebActor, view: CaseView, break_glass: bool) -> PanelValues:
    """The values of ``templates/case/_rights.html``: the case's requests (none in a break-the-glass
    view, which offers no action)."""
    found = None if break_glass else request_views.case_requests(vault, actor.ctx, view.case_id)
    return {
        "rights_access": found.access if found else [],
        "rights_destruction": found.destruction if found else [],
        "rights_subjects": {s.subject_id: s for s in view.subjects or []},
        "rights_refusals": labels.REFUSAL_REASONS,
    }


def subject_label(subject: SubjectView | None) -> str:
    """How a page names a subject: the name, else the relation (never an id)."""
    if subject is None:
        return "betrokkene"
    relation = label(RELATIONS, subject.relation)
    return f"{subject.name} ({relation.lower()})" if subject.name else relation


# --- The work list ----------------------------------------------------------------------------------


@router.get("/verzoeken")
def worklist(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    """D12, D13: open access requests and pending destruction requests, earliest deadline first.

    The privacy officer sees every open access request (by reference and dates) but neither the
    destruction requests nor the request's page, which read the case: the page asks for neither (each
    ask would be a refused attempt in the officer's name, D16, D21)."""
    access = rights.due_access_requests(vault, actor.ctx)
    staff = actor.role in STAFF_ROLES
    pending = destruction.pending_destruction_requests(vault, actor.ctx) if staff else None
    return page(
        request,
        "rights_worklist.html",
        actor=actor,
        access=access,
        pending=pending,
        linked=staff,
        reference=reference_of,
        today=local_date(actor.ctx.now()),
    )


# --- Recording an access request ------------------------------------------------------------------


def _access_form(
    request: Request,
    vault: Vault,
    actor: WebActor,
    case_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    subjects = read_subjects(vault, actor.ctx, case_id)
    return page(
        request,
        "rights_access_new.html",
        actor=actor,
        case_id=case_id,
        reference=reference_of(case_id),
        subjects=[(s.subject_id, subject_label(s)) for s in subjects],
        requesters=labels.REQUESTERS,
        values=values or {},
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/zaken/{case_id}/inzageverzoek")
def access_request_form(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    return _access_form(request, vault, actor, case_id)


def iso_day(value: object) -> date | None:
    """A stored ISO day, for the ``datum`` filter (never an ISO date on a page); None if it is not one."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def received_on(text: str, today: date) -> tuple[date | None, str | None]:
    """The day a request was received, as typed (dd-mm-jjjj or the browser's date), or the error."""
    try:
        day = parse_day(text)
    except InvalidInput:
        return None, "Vul de datum van ontvangst in als dd-mm-jjjj, bijvoorbeeld 03-02-2026."
    if day is None:
        return None, "Vul de datum in waarop het verzoek is ontvangen."
    if day > today:
        return None, "De datum van ontvangst kan niet in de toekomst liggen."
    return day, None


@router.post("/zaken/{case_id}/inzageverzoek")
def record_access_request(request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user
    values = {
        "subject_id": form.text("subject_id", limit=36),
        "received_on": form.text("received_on", limit=20),
        "requested_by": form.text("requested_by", limit=16) or str(rights.RequestedBy.SUBJECT),
        "minor_consent": "ja" if form.text("minor_consent", limit=4) == "ja" else "",
    }
    errors: dict[str, str] = {}
    if values["requested_by"] not in labels.REQUESTERS:
        errors["requested_by"] = "Kies wie het verzoek doet."
    known = {s.subject_id for s in read_subjects(vault, actor.ctx, case_id)}
    if values["subject_id"] not in known:
        errors["subject_id"] = "Kies de betrokkene die om inzage vraagt."
    day, problem = received_on(values["received_on"], local_date(actor.ctx.now()))
    if problem:
        errors["received_on"] = problem
    if errors or day is None:
        return _access_form(request, vault, actor, case_id, values=values, errors=errors, status_code=400)
    try:
        view = rights.record_access_request(
            vault,
            actor.ctx,
            case_id,
            subject_id=values["subject_id"],
            received_on=day,
            requested_by=rights.RequestedBy(values["requested_by"]),
            minor_consent=bool(values["minor_consent"]),
        )
    except InvalidInput as refused:
        if refused.rule not in AGE_REFUSALS:
            raise
        errors["requested_by"] = AGE_REFUSALS[refused.rule]
        return _access_form(request, vault, actor, case_id, values=values, errors=errors, status_code=400)
    except Conflict as refused:  # sent twice: the first is recorded and open
        if refused.rule != rights.ALREADY_RECORDED_RULE:
            raise
        errors["subject_id"] = ALREADY_RECORDED
        return _access_form(request, vault, actor, case_id, values=values, errors=errors, status_code=409)
    return see_other(f"/inzageverzoeken/{view.id}", notice="inzageverzoek-vastgelegd")


# --- One access request -----------------------------------------------------------------------------


def _subject_of(vault: Vault, actor: WebActor, view: rights.AccessRequestView) -> str:
    subjects = {s.subject_id: s for s in read_subjects(vault, actor.ctx, view.case_id)}
    return subject_label(subjects.get(view.subject_id))


def _access_page(
    request: Request,
    vault: Vault,
    actor: WebActor,
    request_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = request_views.read_access_request(vault, actor.ctx, request_id)
    return page(
        request,
        "rights_access.html",
        actor=actor,
        req=view,
        reference=reference_of(view.case_id),
        subject=_subject_of(vault, actor, view),
        extension=labels.EXTENSION_REASONS.get(view.extension_code or "", ""),
        closings=CLOSING_REASONS,
        closed_as=CLOSED_AS.get(view.closing_code or "", "zonder inzagekopie") if view.closing_code else None,
        values=values or {},
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/inzageverzoeken/{request_id}")
def access_request_page(
    request: Request, request_id: RequestId, vault: VaultDep, actor: WebUser
) -> HTMLResponse:
    return _access_page(request, vault, actor, request_id)


@router.post("/inzageverzoeken/{request_id}/afhandelen")
def complete_access_request(
    request: Request, request_id: RequestId, vault: VaultDep, form: VerifiedForm
) -> Response:
    """D13: answered with the copy made for it, or (``closing`` given) closed with a reason from the
    list; without either the page says what is missing (the service refuses and audits it)."""
    actor = form.user
    values = {"closing": form.text("closing", limit=32)}
    if values["closing"] and values["closing"] not in CLOSING_REASONS:
        errors = {"closing": "Kies waarom het verzoek zonder kopie wordt afgesloten."}
        return _access_page(request, vault, actor, request_id, values=values, errors=errors, status_code=400)
    closing = rights.AccessClosing(values["closing"]) if values["closing"] else None
    try:
        rights.complete_access_request(vault, actor.ctx, request_id, closing=closing)
    except Conflict as refused:
        if refused.rule not in (rights.ANSWERED_WITHOUT_COPY_RULE, rights.ANSWERED_UNREVIEWED_RULE):
            raise
        errors = {
            "closing": NO_COPY_YET if refused.rule == rights.ANSWERED_WITHOUT_COPY_RULE else NOT_ALL_REVIEWED
        }
        return _access_page(request, vault, actor, request_id, values=values, errors=errors, status_code=409)
    return see_other(f"/inzageverzoeken/{request_id}", notice="inzageverzoek-afgehandeld")


def _extension_form(
    request: Request,
    vault: Vault,
    actor: WebActor,
    request_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = request_views.read_access_request(vault, actor.ctx, request_id)
    return page(
        request,
        "rights_access_extend.html",
        actor=actor,
        req=view,
        reference=reference_of(view.case_id),
        reasons=labels.EXTENSION_REASONS,
        values=values or {"weeks": "4"},
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/inzageverzoeken/{request_id}/verlengen")
def extension_form(request: Request, request_id: RequestId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    return _extension_form(request, vault, actor, request_id)


@router.post("/inzageverzoeken/{request_id}/verlengen")
def extend_access_request(
    request: Request, request_id: RequestId, vault: VaultDep, form: VerifiedForm
) -> Response:
    actor = form.user
    values = {"reason": form.text("reason", limit=64), "weeks": form.text("weeks", limit=4)}
    errors: dict[str, str] = {}
    if values["reason"] not in labels.EXTENSION_REASONS:
        errors["reason"] = "Kies de reden van de verlenging."
    weeks = int(values["weeks"]) if values["weeks"].isascii() and values["weeks"].isdigit() else 0
    if not 1 <= weeks <= 8:
        errors["weeks"] = "Een verlenging is 1 tot en met 8 weken."
    if not errors:
        try:
            rights.extend_access_request(
                vault, actor.ctx, request_id, reason=rights.ExtensionReason(values["reason"]), weeks=weeks
            )
            return see_other(f"/inzageverzoeken/{request_id}", notice="inzageverzoek-verlengd")
        except Conflict as exc:
            errors["reason"] = (
                "De termijn is al verstreken. Een verlenging moet binnen de termijn worden gemeld; "
                "beantwoord het verzoek zo snel mogelijk."
                if exc.rule == rights.EXTENSION_AFTER_TERM
                else "Deze termijn is al eens verlengd of het verzoek is al beantwoord."
            )
    return _extension_form(request, vault, actor, request_id, values=values, errors=errors, status_code=400)


# --- The per-item review of free text (D22) ---------------------------------------------------------


def _require_step_up(vault: Vault, actor: WebActor, what: str) -> None:
    # The service refuses a release without it; asking first keeps the reviewer's choices.
    if not actor.ctx.stepped_up_within(vault.settings.step_up_minutes):
        raise StepUpRequired(f"{what} needs a recent second-factor check")


def _review_page(
    request: Request,
    vault: Vault,
    actor: WebActor,
    request_id: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = request_views.read_access_request(vault, actor.ctx, request_id)
    items = inzage_review.list_free_text(vault, actor.ctx, request_id)
    return page(
        request,
        "rights_review.html",
        actor=actor,
        req=view,
        reference=reference_of(view.case_id),
        items=items,
        kinds=labels.FREE_TEXT_KINDS,
        decisions=labels.REVIEW_DECISIONS,
        choices=REVIEW_CHOICES,
        not_reviewed=inzage.NOT_REVIEWED,
        withheld_reason=inzage.WITHHELD_AFTER_REVIEW,
        error=error,
        status_code=status_code,
    )


@router.get("/inzageverzoeken/{request_id}/beoordeling")
def review_form(request: Request, request_id: RequestId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    _require_step_up(vault, actor, "releasing free text")
    return _review_page(request, vault, actor, request_id)


@router.post("/inzageverzoeken/{request_id}/beoordeling")
def review(request: Request, request_id: RequestId, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user
    picked = {
        key[:100]: value
        for key, value in form.fields.multi_items()
        if ":" in key and isinstance(value, str) and value in REVIEW_CHOICES
    }
    choices = {item: value.partition(":")[0] for item, value in picked.items()}
    grounds = {item: value.partition(":")[2] for item, value in picked.items() if ":" in value}
    if not choices:
        return _review_page(
            request,
            vault,
            actor,
            request_id,
            error="Kies bij minstens één tekst of u die vrijgeeft of achterhoudt.",
            status_code=400,
        )
    try:
        inzage_review.review_free_text(vault, actor.ctx, request_id, choices, grounds)
    except Conflict as refused:
        if refused.rule != inzage_review.RELEASE_NAMES_REPORTER_RULE:
            raise
        return _review_page(request, vault, actor, request_id, error=RELEASE_NAMES_REPORTER, status_code=409)
    return see_other(f"/inzageverzoeken/{request_id}", notice="vrije-tekst-beoordeeld")


# --- The inzage copy (D8, D13) ---------------------------------------------------------------------


def _export(
    vault: Vault, actor: WebActor, request_id: str
) -> tuple[rights.AccessRequestView, inzage.InzageExport]:
    view = request_views.read_access_request(vault, actor.ctx, request_id)
    export = inzage.export_for_subject(
        vault, actor.ctx, view.case_id, view.subject_id, access_request_id=request_id
    )
    return view, export


@router.get("/inzageverzoeken/{request_id}/kopie")
def inzage_copy(request: Request, request_id: RequestId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    """The copy as the subject gets it, with every withholding and its reason for the worker."""
    view, export = _export(vault, actor, request_id)
    return page(
        request,
        "rights_copy.html",
        actor=actor,
        req=view,
        reference=reference_of(view.case_id),
        export=export,
        birth_date=iso_day(export.subject.get("date_of_birth")),
    )


@router.get("/inzageverzoeken/{request_id}/kopie.pdf")
def inzage_pdf(request_id: RequestId, vault: VaultDep, actor: WebUser) -> Response:
    view, export = _export(vault, actor, request_id)
    return Response(
        inzage.render_inzage_pdf(export),
        media_type="application/pdf",
        headers=download_headers(f"inzage-{reference_of(view.case_id)}.pdf"),
    )
