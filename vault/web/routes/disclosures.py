"""Disclosure to a partner (D8–D10): a form behind a fresh second-factor check (step-up); revoking and
extending a disclosure from the case page.

The step-up is asked before the form is filled (``GET /zaken/{id}/delen`` sends an unconfirmed session to
``/bevestigen`` and back). Should it lapse while the form is filled, the post is not lost: the form comes
back with everything typed and a link that confirms in a new tab. After any refusal the form comes back
with what was entered and the one reason named beside the field it concerns. A disclosure that would
duplicate a live one to the same organisation is held back by the service; the page shows the live one
and asks "Toch delen" (posts again with ``confirm_duplicate``) or "Bestaande verlengen".

The form lists the case's sharing consents (who gave them, for which organisation): like the register it
is for Veilig Thuis staff only. Any other role (the professional who asked advice passes the step-up) is
refused before the step-up is asked, audited with rule ``d3-register-staff-only``, with the Dutch 403 page
(D3, D9). The revoke and extend pages read the register, which refuses them in the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from vault.domain import AuditTag, Category, Role, reference_of
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound, StepUpRequired
from vault.http.deps import VaultDep
from vault.http.params import UUID_PATTERN, CaseId
from vault.labels import AMSTERDAM, LEGAL_BASES
from vault.runtime import Vault
from vault.services import disclosures
from vault.services.case_view import CaseView, view_case
from vault.services.directory import organisation_names, organisations, usernames
from vault.services.disclosure_changes import EXPIRED_NOT_EXTENDED
from vault.services.disclosure_register import refuse_unless_staff
from vault.web.csrf import VerifiedForm, WebForm
from vault.web.fg_reports import parse_day
from vault.web.render import page, see_other
from vault.web.routes.panels import PanelValues
from vault.web.session import WebActor, WebUser

router = APIRouter(include_in_schema=False)

_DISCLOSABLE = [
    c for c in Category if c not in {Category.MEDICAL, Category.REPORTER_IDENTITY, Category.SUBJECTS}
]
_BASES = [code for code in LEGAL_BASES if code != "wmo-5.1.6"]
_TEXTS = {
    "org_id": 36,
    "purpose": 64,
    "legal_basis": 64,
    "consent_reference": 64,
    "valid_days": 5,
    "max_retrievals": 4,
    "partner_title": 200,
    "contact_name": 128,
    "contact_phone": 32,
}
_ATTEMPT = " De poging is vastgelegd."
_CONSENT_REFUSED = (
    "Er is geen geldige vastgelegde toestemming die delen met deze organisatie dekt (de toestemming "
    "ontbreekt, geldt voor een andere ontvanger of is ingetrokken)."
)
# D8/D9 refusals by rule: the field it concerns and the reason in Dutch.
_REFUSALS: dict[str, tuple[str, str]] = {
    "d9-recipient-not-allowed": (
        "legal_basis",
        "Deze grondslag past niet bij het soort organisatie dat u koos. Kies een andere grondslag of "
        "een andere ontvanger.",
    ),
    "d9-unknown-basis": ("legal_basis", "Kies een grondslag uit de lijst."),
    "d9-consent-reference-required": (
        "consent_reference",
        "Bij delen op basis van toestemming kiest u de vastgelegde toestemming waarop u deelt.",
    ),
    "d9-consent-not-recorded": ("consent_reference", _CONSENT_REFUSED),
    "d9-consent-scope": ("consent_reference", _CONSENT_REFUSED),
    "d9-consent-withdrawn": ("consent_reference", _CONSENT_REFUSED),
    "d9-rvdk-not-asked": (
        "legal_basis",
        "Op deze grondslag deelt u alleen met de gemeente als de Raad voor de Kinderbescherming is "
        "gevraagd een onderzoek te doen: de triage-uitkomst is een verzoek aan de Raad, of er loopt een "
        "verstrekking aan de Raad. Kies een andere grondslag.",
    ),
    "d9-consent-giver": (
        "consent_reference",
        "Deze toestemming is niet gegeven door iemand die haar mag geven. Bij een adviesvraag van een "
        "hulpvrager geeft alleen de hulpvrager zelf toestemming om te delen.",
    ),
    "d9-advice-needs-consent": (
        "legal_basis",
        "Een adviesvraag van een hulpvrager deelt u alleen met toestemming van de hulpvrager zelf, of "
        "nadat de zaak ambtshalve is omgezet in een melding. Een wettelijke grondslag geldt hier niet.",
    ),
    "d8-no-release": (
        "reporter_identity",
        "De identiteit van de melder mag alleen mee als de melder toestemming gaf, of als een "
        "professionele melder is vrijgegeven met een reden (D8).",
    ),
}


_EXTEND_REFUSED = {
    "d9-advice-needs-consent": (
        "Een adviesvraag van een hulpvrager wordt alleen gedeeld met toestemming van de hulpvrager zelf. "
        "Deze verstrekking kan daarom niet worden verlengd."
    ),
    "d9-rvdk-not-asked": (
        "De Raad voor de Kinderbescherming is niet meer gevraagd een onderzoek te doen. Op deze "
        "grondslag kan de verstrekking aan de gemeente daarom niet worden verlengd."
    ),
}
_EXTEND_REFUSED_OTHER = (
    "De grondslag van deze verstrekking geldt niet meer (bijvoorbeeld: de toestemming is ingetrokken). "
    "Zij kan daarom niet worden verlengd."
)


@dataclass(frozen=True)
class FieldError:
    """The one reason a form was refused, and the field it concerns (None: the form as a whole)."""

    field: str | None
    text: str


@dataclass
class Entered:
    """What the person entered on the share form, to show again after a refusal."""

    texts: dict[str, str] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    document_ids: list[str] = field(default_factory=list)
    reporter_identity: bool = False

    @classmethod
    def of(cls, form: WebForm) -> Entered:
        return cls(
            texts={name: form.text(name, limit=limit) for name, limit in _TEXTS.items()},
            categories=[c for c in form.all("categories") if c in {str(d) for d in _DISCLOSABLE}],
            document_ids=[d[:36] for d in form.all("document_ids")[:200]],
            reporter_identity=form.text("reporter_identity", limit=2) == "1",
        )


def panel(request: Request, vault: Vault, actor: WebActor, view: CaseView, break_glass: bool) -> PanelValues:
    """The values of ``templates/case/_sharing.html`` (nothing of it in a break-the-glass view, and
    only for staff: a professional's advice case shows no register, D3)."""
    shown = Role(actor.role).is_staff and not break_glass
    grants = disclosures.list_case_disclosures(vault, actor.ctx, view.case_id) if shown else []
    return {
        "sharing_shown": shown,
        "grants": grants,
        "organisations": organisation_names(vault, [g.org_id for g in grants] + [view.partner_org_id]),
        "sharing_now": actor.ctx.now(),
    }


def _require_step_up(vault: VaultDep, actor: WebActor) -> None:
    if not actor.ctx.stepped_up_within(vault.settings.step_up_minutes):
        raise StepUpRequired("a disclosure needs a recent second-factor check")


def _form(
    request: Request,
    vault: VaultDep,
    actor: WebActor,
    case_id: str,
    *,
    entered: Entered | None = None,
    error: FieldError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = view_case(vault, actor.ctx, case_id)
    documents = [d for d in view.documents if d.title is not None and d.category != Category.MEDICAL]
    orgs = organisations(vault)
    names = {o.id: o.name for o in orgs}
    if entered is None:
        # D23: the contact defaults to the worker who shares (accounts hold no phone number: typed).
        contact = usernames(vault, [actor.info.user_id]).get(actor.info.user_id, "")
        entered = Entered(
            texts={
                "valid_days": str(vault.settings.disclosure_default_days),
                "max_retrievals": "5",
                "contact_name": contact,
            }
        )
    return page(
        request,
        "disclose.html",
        actor=actor,
        case_id=case_id,
        reference=reference_of(case_id),
        organisations=orgs,
        # D9: the live consents to share, each naming the one organisation it covers.
        consents=[
            (c, names.get(c.recipient_org_id, ""))
            for c in disclosures.sharing_consents(vault, actor.ctx, case_id)
        ],
        bases=_BASES,
        categories=_DISCLOSABLE,
        documents=documents,
        has_reporter=view.has_reporter,
        max_days=vault.settings.disclosure_max_days,
        today=actor.ctx.now(),
        entered=entered,
        error=error,
        status_code=status_code,
    )


@router.get("/zaken/{case_id}/delen")
def disclosure_form(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    refuse_unless_staff(vault, actor.ctx, case_id, AuditTag.DISCLOSURE_CONSENTS_LISTED)  # D3: 403 page
    _require_step_up(vault, actor)
    return _form(request, vault, actor, case_id)


def _int(value: str, default: int, name: str) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        raise disclosures.DisclosureInvalid("not a number", field=name) from None


def _request(
    vault: Vault, case_id: str, entered: Entered, *, confirm: bool, confirmed: str | None
) -> disclosures.DisclosureRequest:
    texts = entered.texts
    categories = {Category(c) for c in entered.categories}
    if entered.reporter_identity:
        categories.add(Category.REPORTER_IDENTITY)
    return disclosures.DisclosureRequest(
        case_id=case_id,
        org_id=texts["org_id"],
        purpose=texts["purpose"],
        legal_basis=texts["legal_basis"],
        categories=frozenset(categories),
        document_ids=frozenset(entered.document_ids),
        consent_reference=texts["consent_reference"] or None,
        valid_days=_int(texts["valid_days"], vault.settings.disclosure_default_days, "valid_days"),
        max_retrievals=_int(texts["max_retrievals"], 5, "max_retrievals"),
        include_reporter_identity=entered.reporter_identity,
        partner_title=texts["partner_title"] or None,
        contact_name=texts["contact_name"],
        contact_phone=texts["contact_phone"],
        confirm_duplicate=confirm,
        confirmed_duplicate_of=confirmed if confirm else None,
    )


def _invalid(vault: Vault, entered: Entered, invalid: disclosures.DisclosureInvalid) -> FieldError:
    """The Dutch reason for a malformed request, beside the field it concerns."""
    name = invalid.field
    if invalid.rule == "d23-contact-required":
        return FieldError(
            name,
            "Vul het telefoonnummer van de contactpersoon in: de ketenpartner belt dit nummer voor de "
            "warme overdracht."
            if name == "contact_phone"
            else "Noem de contactpersoon bij Veilig Thuis: de ketenpartner belt deze persoon voor de "
            "warme overdracht.",
        )
    if invalid.rule == disclosures.NAMES_REPORTER:  # D8: the partner reads this text
        return FieldError(
            name,
            "Deze tekst noemt de melder. De ketenpartner leest hem, en wie de melding deed wordt niet "
            "verstrekt: schrijf hem zonder de naam of de contactgegevens van de melder.",
        )
    if (
        name == "parts"
        and not entered.categories
        and not entered.document_ids
        and not entered.reporter_identity
    ):
        return FieldError("categories", "Kies minstens één categorie of document om te delen.")
    reasons = {
        "parts": ("categories", "Medische stukken worden nooit aan een ketenpartner verstrekt."),
        "purpose": (
            "purpose",
            "Vul het doel in: waarvoor heeft de ontvanger dit nodig? Hoogstens 64 zichtbare tekens, zonder "
            "stuur- of richtingstekens.",
        ),
        "valid_days": (
            "valid_days",
            f"Een verstrekking geldt 1 tot en met {vault.settings.disclosure_max_days} dagen.",
        ),
        "max_retrievals": (
            "max_retrievals",
            f"Kies hoe vaak de ontvanger mag ophalen: 1 tot en met {disclosures.MAX_RETRIEVALS} keer.",
        ),
        "partner_title": (
            "partner_title",
            "De titel is één regel van hoogstens 200 zichtbare tekens, zonder stuur- of richtingstekens.",
        ),
        "contact_name": (
            "contact_name",
            "De naam is één regel van hoogstens 128 zichtbare tekens, zonder stuur- of richtingstekens.",
        ),
        "contact_phone": (
            "contact_phone",
            "Een telefoonnummer heeft 8 tot 15 cijfers, met eventueel een + aan het begin, spaties, "
            "streepjes of haakjes, bijvoorbeeld 030 123 45 67.",
        ),
    }
    target, text = reasons.get(name, reasons["parts"])
    return FieldError(target, text)


@router.post("/zaken/{case_id}/delen")
def create_disclosure(request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user
    refuse_unless_staff(vault, actor.ctx, case_id, AuditTag.DISCLOSURE_GRANT_CREATED)  # D3: 403 page
    entered = Entered.of(form)

    def again(error: FieldError, status_code: int) -> HTMLResponse:
        return _form(request, vault, actor, case_id, entered=entered, error=error, status_code=status_code)

    if form.text("aanpassen", limit=2) == "1":  # back from the duplicate warning, to change the form
        _require_step_up(vault, actor)
        return _form(request, vault, actor, case_id, entered=entered)
    _require_step_up(vault, actor)  # lapsed while typing: the step-up carries the form (vault.web.errors)
    if entered.texts["org_id"] not in {o.id for o in organisations(vault)}:
        return again(FieldError("org_id", "Kies de organisatie waarmee u deelt."), 400)
    # "Toch delen" confirms the one live disclosure the warning showed (``bestaande``): a second post of
    # it (a double click) finds the disclosure the first made and is warned again, never shared twice.
    confirm, confirmed = form.text("toch_delen", limit=2) == "1", form.text("bestaande", limit=36) or None
    try:
        disclosures.create_disclosure(
            vault, actor.ctx, _request(vault, case_id, entered, confirm=confirm, confirmed=confirmed)
        )
    except disclosures.DisclosureInvalid as invalid:
        return again(_invalid(vault, entered, invalid), 400)
    except disclosures.DuplicateDisclosure as duplicate:
        return _duplicate(request, vault, actor, case_id, entered, duplicate.existing)
    except disclosures.DisclosureRefused as refused:
        target, text = _REFUSALS.get(
            refused.rule, ("legal_basis", "Deze verstrekking is geweigerd op de grondslag.")
        )
        return again(FieldError(target, text + _ATTEMPT), 403)
    except InvalidInput:
        return again(FieldError("categories", "Medische stukken worden nooit verstrekt." + _ATTEMPT), 400)
    except Forbidden:
        return again(
            FieldError("categories", "U mag deze gegevens niet voor dit doel verstrekken." + _ATTEMPT), 403
        )
    return see_other(f"/zaken/{case_id}", notice="verstrekking-vastgelegd")


def _duplicate(
    request: Request,
    vault: Vault,
    actor: WebActor,
    case_id: str,
    entered: Entered,
    existing: disclosures.GrantView,
) -> HTMLResponse:
    """Held back: the live disclosure it would duplicate, and the choice (share anyway, or extend)."""
    return page(
        request,
        "disclose_duplicate.html",
        actor=actor,
        case_id=case_id,
        reference=reference_of(case_id),
        entered=entered,
        existing=existing,
        organisation=organisation_names(vault, [existing.org_id]).get(existing.org_id, ""),
        status_code=409,
    )


GrantPath = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36)]


def _grant_of_case(vault: VaultDep, actor: WebActor, case_id: str, grant_id: str) -> disclosures.GrantView:
    for grant in disclosures.list_case_disclosures(vault, actor.ctx, case_id):
        if grant.id == grant_id:
            return grant
    raise NotFound("no such disclosure")


@router.get("/zaken/{case_id}/verstrekkingen/{grant_id}/intrekken")
def revoke_confirm(
    request: Request, case_id: CaseId, grant_id: GrantPath, vault: VaultDep, actor: WebUser
) -> HTMLResponse:
    """Ask before revoking; revoking needs a recent second factor, like creating."""
    _require_step_up(vault, actor)
    grant = _grant_of_case(vault, actor, case_id, grant_id)
    return page(
        request,
        "revoke.html",
        actor=actor,
        case_id=case_id,
        reference=reference_of(case_id),
        grant=grant,
        organisation=organisation_names(vault, [grant.org_id]).get(grant.org_id, grant.org_id),
    )


@router.post("/zaken/{case_id}/verstrekkingen/{grant_id}/intrekken")
def revoke(case_id: CaseId, grant_id: GrantPath, vault: VaultDep, form: VerifiedForm) -> Response:
    """Revoke at once: the partner's next retrieval is refused (audited disclosure:grant:revoked)."""
    actor = form.user
    _require_step_up(vault, actor)
    _grant_of_case(vault, actor, case_id, grant_id)
    disclosures.revoke_disclosure(vault, actor.ctx, grant_id)
    return see_other(f"/zaken/{case_id}", notice="verstrekking-ingetrokken")


def _extend_page(
    request: Request,
    vault: Vault,
    actor: WebActor,
    case_id: str,
    grant: disclosures.GrantView,
    *,
    typed: str = "",
    error: FieldError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = actor.ctx.now()
    limit = grant.valid_from + timedelta(days=vault.settings.disclosure_max_days)
    today = now.astimezone(AMSTERDAM).date()
    return page(
        request,
        "disclosure_extend.html",
        actor=actor,
        case_id=case_id,
        reference=reference_of(case_id),
        grant=grant,
        organisation=organisation_names(vault, [grant.org_id]).get(grant.org_id, grant.org_id),
        latest=today + timedelta(days=max((limit - now).days, 0)),
        today=today,
        typed=typed,
        error=error,
        status_code=status_code,
    )


@router.get("/zaken/{case_id}/verstrekkingen/{grant_id}/verlengen")
def extend_form(
    request: Request, case_id: CaseId, grant_id: GrantPath, vault: VaultDep, actor: WebUser
) -> HTMLResponse:
    """A new end date for a live disclosure, within the maximum counted from its start; step-up first."""
    _require_step_up(vault, actor)
    grant = _grant_of_case(vault, actor, case_id, grant_id)
    return _extend_page(request, vault, actor, case_id, grant)


@router.post("/zaken/{case_id}/verstrekkingen/{grant_id}/verlengen")
def extend(
    request: Request, case_id: CaseId, grant_id: GrantPath, vault: VaultDep, form: VerifiedForm
) -> Response:
    """Extend through the same service as ``POST /api/v1/disclosures/{id}/extend`` (audited)."""
    actor = form.user
    _require_step_up(vault, actor)
    grant = _grant_of_case(vault, actor, case_id, grant_id)
    typed = form.day("valid_until")
    today = actor.ctx.now().astimezone(AMSTERDAM).date()

    def again(text: str, status_code: int = 400) -> HTMLResponse:
        error = FieldError("valid_until", text)
        return _extend_page(
            request, vault, actor, case_id, grant, typed=typed, error=error, status_code=status_code
        )

    try:
        day = parse_day(typed)
    except InvalidInput:
        return again("Schrijf de datum als dd-mm-jjjj, bijvoorbeeld 31-01-2027.")
    if day is None or day <= today:
        return again("Kies een nieuwe einddatum na vandaag.")
    try:
        disclosures.extend_disclosure(vault, actor.ctx, grant_id, days=(day - today).days)
    except disclosures.DisclosureRefused as refused:
        return again(_EXTEND_REFUSED.get(refused.rule or "", _EXTEND_REFUSED_OTHER) + _ATTEMPT, 403)
    except Conflict as conflict:
        if conflict.rule == EXPIRED_NOT_EXTENDED:
            return again(
                "Deze verstrekking is verlopen en kan niet meer worden verlengd. Maak een nieuwe "
                "verstrekking; die wordt opnieuw getoetst.",
                409,
            )
        return again("Een ingetrokken verstrekking kan niet worden verlengd.", 409)
    except InvalidInput as invalid:
        if invalid.rule == "d16-extension-not-later":
            return again(
                "Kies een datum na de huidige einddatum van deze verstrekking. Wilt u de verstrekking "
                "eerder laten eindigen? Trek haar dan in."
            )
        return again(
            f"Een verstrekking geldt hoogstens {vault.settings.disclosure_max_days} dagen na de start. "
            "Kies een eerdere datum."
        )
    return see_other(f"/zaken/{case_id}", notice="verstrekking-verlengd")
