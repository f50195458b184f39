"""Consents on the case page: recorded and withdrawn (D2, D9, D13), moved out of ``people``.

Every rule lives in ``vault.services.consents``: the form offers only the givers that service accepts
for this case (``consents.consent_givers``, the one list), names the child of a child's consent by the
name (or number) the case page shows, and after a refusal shows the form again with what was chosen and
the one reason, on its field.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from vault.domain import AuditTag, CaseKind, OrgType, reference_of
from vault.errors import InvalidInput, NotFound
from vault.http.deps import VaultDep
from vault.http.params import UUID_PATTERN, CaseId
from vault.runtime import Vault
from vault.services import consents
from vault.services.case_view import CaseView, view_case
from vault.services.directory import organisation_names, organisations
from vault.services.gate import refuse_unless_staff
from vault.services.person_fields import HELP_SEEKER_CONSENT, SHARE_CONSENT_GIVER, ConsentScope, Relation
from vault.web.csrf import VerifiedForm
from vault.web.render import page, see_other
from vault.web.routes.people import CONSENT_SCOPES, dutch_birth_date
from vault.web.session import WebActor, WebUser

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

ObjectId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36)]

_SHARE = ConsentScope.SHARE_WITH_PARTNER
_NO_ORG = ("recipient_org_id", "Kies een bestaande ketenpartner.")
_ONE_ORG = (
    "recipient_org_id",
    "Toestemming om te delen geldt voor één organisatie: kies die. Bij andere toestemming kiest u geen "
    "organisatie.",
)
_WHICH_CHILD = ("subject_id", "Kies welk kind de toestemming gaf.")
_NO_CHILD_HERE = ("subject_id", "Kies alleen een kind als het kind zelf toestemming gaf om te delen.")
_CHILD_REFUSED = (
    "subject_id",
    "Dit kind kan deze toestemming niet geven: een kind geeft toestemming om te delen vanaf 12 jaar, "
    "volgens de vastgelegde geboortedatum (D9, D13). Leg de geboortedatum vast, of kies wie de "
    "toestemming gaf.",
)
_ADVICE_GIVER = (
    "given_by",
    "Deze toestemming kan niet van deze persoon komen: bij een adviesvraag van een hulpvrager alleen van "
    "de hulpvrager zelf (D2, D9).",
)


def _back(case_id: str, notice: str) -> Response:
    """To the case page's consent section, with a confirmation (the fragment after the query)."""
    response = see_other(f"/zaken/{case_id}", notice=notice)
    response.headers["location"] += "#toestemmingen"
    return response


def _staff_only(vault: Vault, actor: WebActor, case_id: str) -> None:
    """D9: a consent is staff's: anyone else gets the 403 page (audited) before the form is read."""
    tag, rule = AuditTag.DOSSIER_CONSENT_RECORDED, consents.CONSENT_STAFF_ONLY
    refuse_unless_staff(vault, actor.ctx, case_id, rule=rule, reason="consents are staff's", attempted=tag)


def _children(view: CaseView) -> list[dict[str, str]]:
    """The case's child subjects as the case page shows them: the name, else "Kind" and the row's number
    in the table of subjects; with the date of birth (or that none is recorded). Never an id shown."""
    children = []
    for number, subject in enumerate(view.subjects or [], start=1):
        if subject.relation != Relation.CHILD:
            continue
        born = dutch_birth_date(subject.date_of_birth)
        name = subject.name or f"Kind {number}"
        text = f"{name}, geboren {born}" if born else f"{name}, geboortedatum niet vastgelegd"
        children.append({"id": subject.subject_id, "text": text})
    return children


def _offered(view: CaseView, children: list[dict[str, str]]) -> dict[str, list[Relation]]:
    """D2, D9: per scope, who the service accepts as giver on this case (``consents.consent_givers``);
    "the child" only when a child is recorded to name. Key "": every giver of any scope."""
    offered: dict[str, list[Relation]] = {}
    for scope in ConsentScope:
        givers = consents.consent_givers(view.kind, scope)
        offered[str(scope)] = [r for r in Relation if r in givers and (r is not Relation.CHILD or children)]
    offered[""] = [r for r in Relation if any(r in givers for givers in offered.values())]
    return offered


def _giver_problem(kind: str, typed: dict[str, str]) -> tuple[str, str]:
    """The Dutch reason, on its field, for a giver the service refused (D2, D9, D13)."""
    scope, given_by = ConsentScope(typed["scope"]), Relation(typed["given_by"])
    if given_by in consents.consent_givers(kind, scope):  # an allowed giver: the named child is not
        return _CHILD_REFUSED
    if scope is not _SHARE:
        return ("given_by", "Deze toestemming geeft alleen de hulpvrager zelf (D2).")
    if given_by in consents.consent_givers(CaseKind.REPORT, scope):  # refused for this case's kind only
        return _ADVICE_GIVER
    return ("given_by", "Deze toestemming geeft een betrokkene, niet de pleger (D9).")


def _consent_page(
    request: Request,
    vault: VaultDep,
    actor: WebActor,
    case_id: str,
    *,
    values: dict[str, str] | None = None,
    problem: tuple[str, str] | None = None,  # (field, Dutch message)
    giver_refused: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    _staff_only(vault, actor, case_id)
    view = view_case(vault, actor.ctx, case_id)  # the actor must be allowed to read the case
    values = values or {}
    if giver_refused:
        problem = _giver_problem(view.kind, values)
    children = _children(view)
    offered = _offered(view, children)
    recipients = [o for o in organisations(vault) if o.org_type != OrgType.VEILIG_THUIS]
    return page(
        request,
        "consent_form.html",
        actor=actor,
        case_id=case_id,
        reference=reference_of(case_id),
        scopes=CONSENT_SCOPES,
        givers=offered.get(values.get("scope", ""), offered[""]),  # D2, D9: only whom the service accepts
        children=children,
        child_offered=Relation.CHILD in offered[""],
        help_seeker_advice=view.kind == CaseKind.ADVICE_HELP_SEEKER,
        recipients=recipients,
        values=values,
        error=problem[1] if problem else None,
        error_field=problem[0] if problem else None,
        status_code=status_code,
    )


@router.get("/zaken/{case_id}/toestemmingen/nieuw")
def consent_new(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    return _consent_page(request, vault, actor, case_id)


def _form_problem(typed: dict[str, str]) -> tuple[str, str] | None:
    """What the form itself can tell is missing or wrong (400), before the service weighs the giver."""
    if typed["scope"] not in CONSENT_SCOPES:
        return ("scope", "Kies waarvoor de toestemming geldt.")
    if typed["given_by"] not in {str(r) for r in Relation}:
        return ("given_by", "Kies wie de toestemming gaf.")
    if (typed["scope"] == _SHARE) != bool(typed["recipient_org_id"]):
        return _ONE_ORG
    childs = typed["scope"] == _SHARE and typed["given_by"] == Relation.CHILD
    if childs and not typed["subject_id"]:
        return _WHICH_CHILD
    if typed["subject_id"] and not childs:
        return _NO_CHILD_HERE
    return None


@router.post("/zaken/{case_id}/toestemmingen")
def consent_record(request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user  # D9, D2: the permission first (403), then the form's checks (400)
    _staff_only(vault, actor, case_id)
    typed = {
        "scope": form.text("scope", limit=32),
        "given_by": form.text("given_by", limit=32),
        "recipient_org_id": form.text("recipient_org_id", limit=36),
        "subject_id": form.text("subject_id", limit=36),
    }
    problem = _form_problem(typed)
    giver_refused = False
    if problem is None:
        try:
            consents.record_consent(
                vault,
                actor.ctx,
                case_id,
                scope=ConsentScope(typed["scope"]),
                given_by=Relation(typed["given_by"]),
                recipient_org_id=typed["recipient_org_id"] or None,
                subject_id=typed["subject_id"] or None,
            )
        except (InvalidInput, NotFound) as refused:  # D2, D9, D13: who may give it; else the organisation
            giver_refused = refused.rule in {SHARE_CONSENT_GIVER, HELP_SEEKER_CONSENT}
            problem = None if giver_refused else _NO_ORG
    if problem is not None or giver_refused:
        return _consent_page(
            request,
            vault,
            actor,
            case_id,
            values=typed,
            problem=problem,
            giver_refused=giver_refused,
            status_code=400,
        )
    return _back(case_id, "toestemming-vastgelegd")


@router.get("/zaken/{case_id}/toestemmingen/{consent_id}/intrekken")
def consent_withdraw_confirm(
    request: Request, case_id: CaseId, consent_id: ObjectId, vault: VaultDep, actor: WebUser
) -> HTMLResponse:
    """Say first what a withdrawal does: the disclosures resting on the consent are revoked (D9)."""
    resting = consents.grants_resting_on(vault, actor.ctx, case_id, consent_id)
    view = view_case(vault, actor.ctx, case_id)
    consent = next((c for c in view.consents if c.consent_id == consent_id), None)
    if consent is None:
        raise NotFound("no such consent")
    names = organisation_names(vault, [g.org_id for g in resting] + [consent.recipient_org_id])
    return page(
        request,
        "consent_withdraw.html",
        actor=actor,
        case_id=case_id,
        reference=reference_of(case_id),
        consent=consent,
        scope_label=CONSENT_SCOPES.get(consent.scope, consent.scope),
        recipient=names.get(consent.recipient_org_id or ""),
        resting=[names.get(g.org_id, "een ketenpartner") for g in resting],
    )


@router.post("/zaken/{case_id}/toestemmingen/{consent_id}/intrekken")
def consent_withdraw(case_id: CaseId, consent_id: ObjectId, vault: VaultDep, form: VerifiedForm) -> Response:
    consents.withdraw_consent(vault, form.user.ctx, case_id, consent_id)
    return _back(case_id, "toestemming-ingetrokken")
