"""Online intake: the public report and advice forms (docs/intake.md).

A submission arrives without an account. It is admitted only after (in this order) a per-address
flood ceiling, the honeypot and a proof of work that was never used before (``admit``); the proof's
difficulty rises with the address's submissions in the last hour beyond a free allowance, so a school
or a GP practice behind one address is slowed, not turned away (``required_bits``); then
``receive`` opens the case and seals everything the person wrote under the new case's key *before*
anything is written: the reporter's identity in its own category (D8), the people involved as
sealed subjects, the client of a professional's advice only as a keyed pseudonym (D3), and the
answers as an encrypted document. A report lands in the triage queue of the intake team with its
deadline (D5); an advice request as advice (D2: a citizen's advice holds no identifying field).

Why not the gate: the gate admits known, second-factor actors; the public form has no account. It
only *writes* to a case it has just created, with the key it has just created, and never reads
anything back (the submitter sees a reference number, never an echo), so nothing is disclosed and
no decryption happens here. Every intake is audited (actor ``public_form``, the case, the form, the
access point) without content and without the client's address.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from vault.audit import record
from vault.auth.keyed import keyed_hash
from vault.auth.ratelimit import take_turn_on
from vault.context import Context
from vault.crypto.envelope import DataKey, new_data_key
from vault.crypto.keys import SubkeyPurpose
from vault.domain import AuditTag, CaseKind, Category, reference_of
from vault.errors import Unavailable
from vault.models import AuthAttempt
from vault.periodic import Periodic
from vault.runtime import Vault
from vault.services.blobs import discard_sealed_blob
from vault.services.calendar import local_date
from vault.services.cases import (
    DEFAULT_LEGAL_BASIS,
    MELDCODE_STEPS,
    intake_team,
    open_case_with_key,
    set_client_pseudonyms,
)
from vault.services.documents import add_version, seal_to_blob
from vault.services.intake_proofs import (
    CHALLENGE_KIND,
    AlreadyReceived,
    IntakeRefused,
    forget_receipts,
    refuse_if_used,
    remember_case,
    use_up,
)
from vault.services.pow import Challenge, PowRefused, issue_challenge, solved_challenge, verify_solution
from vault.services.subjects import (
    PersonFields,
    Relation,
    ReporterFields,
    seal_reporter_identity,
    seal_subjects,
)

__all__ = [
    "ACCESS_POINT",
    "ACTOR",
    "AlreadyReceived",
    "Attachment",
    "IntakeForgetting",
    "IntakeForm",
    "IntakeRefused",
    "Receipt",
    "Submission",
    "admit",
    "client_key",
    "forget_old_attempts",
    "intake_team_id",
    "new_challenge",
    "public_context",
    "receive",
    "receive_attachment",
    "required_bits",
]

log = structlog.get_logger(__name__)

ACTOR = "public_form"
ACCESS_POINT = "public_form"
_CLIENT_LABEL = b"vault/intake/client-address/v1"
# Rows in ``auth_attempts`` (DB-backed, shared by all workers); ``kind`` tells them apart from logins.
_KIND_SUBMISSION = "intake"
_KIND_CHALLENGE = CHALLENGE_KIND
_WINDOW = timedelta(hours=1)
# Beyond the free allowance each submission asks one more zero bit (twice the work), up to this many:
# 16 + 6 bits is 64 times the base work, seconds on a laptop, under a minute on an old phone.
EXTRA_BITS_CAP = 6
_MAX_BITS = 32


class IntakeForm(StrEnum):
    """The four public forms: report or advice, by a professional or a citizen."""

    REPORT_PROFESSIONAL = "melden-professional"
    REPORT_CITIZEN = "melden-burger"
    ADVICE_PROFESSIONAL = "advies-professional"
    ADVICE_CITIZEN = "advies-burger"

    @property
    def is_report(self) -> bool:
        return self in {IntakeForm.REPORT_PROFESSIONAL, IntakeForm.REPORT_CITIZEN}

    @property
    def by_professional(self) -> bool:
        return self in {IntakeForm.REPORT_PROFESSIONAL, IntakeForm.ADVICE_PROFESSIONAL}

    @property
    def case_kind(self) -> CaseKind:
        if self.is_report:
            return CaseKind.REPORT
        return CaseKind.ADVICE_PROFESSIONAL if self.by_professional else CaseKind.ADVICE_HELP_SEEKER


@dataclass(frozen=True, repr=False)
class Submission:
    """What a person filled in. Never printed; ``answers`` are (question, answer) pairs."""

    form: IntakeForm
    answers: tuple[tuple[str, str], ...]
    reporter: ReporterFields | None = None
    subjects: tuple[tuple[Relation, PersonFields], ...] = ()
    client: PersonFields | None = None
    meldcode_step: int | None = None

    def __repr__(self) -> str:
        return f"Submission({self.form}, ***)"

    def narrative(self) -> bytes:
        """The report or advice document: the answers, under a first line that says report or advice
        only, never which form (``melden-professional`` / ``-burger``): a partner who receives the
        report would learn that a professional reported (D8). The form is in the audit entry (ids)."""
        where = "meldformulier" if self.form.is_report else "adviesformulier"
        lines = [f"Ontvangen via het online {where}", ""]
        for question, answer in self.answers:
            if answer:
                lines += [question, _printable(answer), ""]
        return "\n".join(lines).encode("utf-8")


# Control characters (C0 but tab and line ends, DEL, C1): invisible in the text a person typed or pasted
# (Word's optional hyphen U+001F, a PDF's U+0002), yet one of them makes the whole report a document no
# partner may receive unchanged (``copy_kind``: plain text has none). A lone carriage return is a line end.
# Word's manual line break (U+000B) and a page break (U+000C) are line ends.
_INVISIBLE_CONTROLS: dict[int, str | None] = {
    **dict.fromkeys([*range(0x00, 0x09), *range(0x0E, 0x20), *range(0x7F, 0xA0)]),
    0x0B: "\n",
    0x0C: "\n",
}


def _printable(answer: str) -> str:
    """An answer as stored in the report's text: line ends as ``\\n``, no control characters (session
    16, P4: a pasted control character kept the citizen's report from the partner at the handover)."""
    return answer.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE_CONTROLS)


@dataclass(frozen=True, repr=False)
class Attachment:
    filename: str
    content_type: str
    chunks: Iterable[bytes]

    def __repr__(self) -> str:
        return "Attachment(***)"


@dataclass(frozen=True, repr=False)
class Receipt:
    """What the submitter is told (the reference); the rest stays server-side."""

    case_id: str
    reference: str
    dek: DataKey

    def __repr__(self) -> str:
        return f"Receipt({self.reference})"


def public_context(vault: Vault, request_id: str) -> Context:
    """The actor of the public forms: no account, role ``public_form`` (may open cases, nothing else)."""
    return Context(
        actor_id=ACTOR, role=ACTOR, access_point=ACCESS_POINT, request_id=request_id, clock=vault.clock
    )


def client_key(vault: Vault, address: str | None) -> str:
    """The client address as a keyed hash (never stored or logged in clear)."""
    return keyed_hash(vault.keys.subkey(SubkeyPurpose.SESSION), _CLIENT_LABEL, address or "unknown")


def required_bits(vault: Vault, earlier: int) -> int:
    """The difficulty asked of an address with ``earlier`` submissions in the last hour: the base up to
    the free allowance (``VAULT_INTAKE_LIMIT_PER_HOUR``), then one more bit per submission, capped."""
    settings = vault.settings
    extra = min(EXTRA_BITS_CAP, max(0, earlier + 1 - settings.intake_limit_per_hour))
    return min(_MAX_BITS, settings.intake_pow_bits + extra)


def _earlier(vault: Vault, key: str) -> int:
    now = vault.clock.now()
    with vault.db.session() as session:
        return _count(session, _KIND_SUBMISSION, "client_key", key, now - _WINDOW)


def new_challenge(vault: Vault, client_address: str | None = None) -> Challenge:
    """A challenge as hard as the address's next submission must be (reads, never writes)."""
    settings = vault.settings
    earlier = _earlier(vault, client_key(vault, client_address))
    return issue_challenge(
        vault.keys.subkey(SubkeyPurpose.SESSION),
        now=vault.clock.now(),
        bits=required_bits(vault, earlier),
        ttl=timedelta(minutes=settings.intake_challenge_minutes),
    )


def intake_team_id(vault: Vault) -> str:
    """The responsible team: ``VAULT_INTAKE_TEAM`` by name, else the first team created."""
    with vault.db.session() as session:
        team_id = intake_team(session, vault)
    if team_id is None:
        raise Unavailable("no intake team is configured")
    return team_id


def _count(session: Session, kind: str, column: str, key: str, since: datetime) -> int:
    col = getattr(AuthAttempt, column)
    stmt = (
        select(func.count())
        .select_from(AuthAttempt)
        .where(AuthAttempt.kind == kind, col == key, AuthAttempt.occurred_at > since)
    )
    return int(session.scalar(stmt) or 0)


def forget_old_attempts(vault: Vault) -> int:
    """Delete the form's rate and replay rows older than the hour they count for; how many went.

    Each row holds a keyed hash of a sender's address and the moment of a submission, which lies
    beside the case it opened: kept only while the hour's limits need it (D8, AVG 5(1)(c),(e)). The
    next submission deletes them too (``admit``); this runs every few minutes from the server
    (``IntakeForgetting``) so they go when nobody submits."""
    with vault.db.session() as session:
        gone = session.execute(
            delete(AuthAttempt).where(
                AuthAttempt.kind.in_([_KIND_SUBMISSION, _KIND_CHALLENGE]),
                AuthAttempt.occurred_at < vault.clock.now() - _WINDOW,
            )
        )
        forget_receipts(session, vault.clock.now() - _WINDOW)
        session.commit()
    return int(getattr(gone, "rowcount", 0) or 0)


class IntakeForgetting(Periodic):
    """A daemon thread that runs ``forget_old_attempts`` every ``minutes`` minutes; a failure is logged
    by its type only and retried next period."""

    thread_name = "intake-forgetting"

    def __init__(self, vault: Vault, *, minutes: float = 10.0) -> None:
        super().__init__(minutes=minutes)
        self._vault = vault

    def run_once(self) -> int | None:
        try:
            return forget_old_attempts(self._vault)
        except Exception as exc:  # noqa: BLE001 - a background task must survive and say why
            log.error("intake_forgetting_failed", error=type(exc).__name__)
            return None


def _ceiling_wait(session: Session, key: str, ceiling: int, now: datetime) -> int:
    """Seconds (at least 1) until the submission that keeps the address at the ceiling leaves the
    hour, so that one more would be counted and admitted (refusals at the ceiling are not counted)."""
    keeping = session.scalar(
        select(AuthAttempt.occurred_at)
        .where(
            AuthAttempt.kind == _KIND_SUBMISSION,
            AuthAttempt.client_key == key,
            AuthAttempt.occurred_at > now - _WINDOW,
        )
        .order_by(AuthAttempt.occurred_at.desc())
        .offset(max(0, ceiling - 1))
        .limit(1)
    )
    frees_at = (keeping if keeping is not None else now) + _WINDOW
    return max(1, math.ceil((frees_at - now).total_seconds()))


def admit(vault: Vault, *, client_address: str | None, token: str, counter: str, honeypot: str) -> Challenge:
    """Refuse (``IntakeRefused``) a flood, a filled honeypot, or a missing, too easy, wrong or replayed
    proof; the checked challenge, which ``receive(…, used=…)`` remembers with the case it opens.

    Every attempt counts towards the address's count, refused ones too: beyond the free allowance it
    raises the difficulty asked (``required_bits``), at the ceiling every attempt is refused. The
    address's attempts take turns (``take_turn_on``: on PostgreSQL a transaction-scoped lock; SQLite's
    transactions already do), so parallel attempts cannot all read the same count and all pass. Two
    short transactions; nothing of the submission's content is touched.

    The proof is not used up here: a submission refused afterwards (its answers, or the service
    unavailable) opened no case, and the page may send the corrected form with the same proof. It is
    used up in the transaction that opens the case (``receive``): a proof that opened a case is
    answered with that case's reference (``AlreadyReceived``, ``intake_proofs``), never a second case;
    that is asked of every proof this server issued and whose counter solves it before the ceiling,
    the honeypot, the expiry and the difficulty are: the same form sent again is told its reference
    even when the address's count rose or the proof expired since its first send (session 18, P1).
    """
    now = vault.clock.now()
    key = client_key(vault, client_address)
    with vault.db.session() as session:
        take_turn_on(session, "intake-client", key)
        session.execute(
            delete(AuthAttempt).where(
                AuthAttempt.kind.in_([_KIND_SUBMISSION, _KIND_CHALLENGE]),
                AuthAttempt.occurred_at < now - _WINDOW,
            )
        )
        forget_receipts(session, now - _WINDOW)
        recent = _count(session, _KIND_SUBMISSION, "client_key", key, now - _WINDOW)
        ceiling = vault.settings.intake_ceiling_per_hour
        if recent < ceiling:
            session.add(
                AuthAttempt(id=str(uuid.uuid4()), kind=_KIND_SUBMISSION, client_key=key, occurred_at=now)
            )
        else:
            wait = _ceiling_wait(session, key, ceiling, now)
    secret = vault.keys.subkey(SubkeyPurpose.SESSION)
    solved = solved_challenge(secret, token, counter)
    if solved is not None:
        # D5: a form sent again after its answer was lost is told the case its proof opened first,
        # however many forms this address sent since and however old the proof: else the ceiling,
        # the harder proof or the expiry refused it, the page renewed its proof and opened a second case.
        with vault.db.session() as session:
            refuse_if_used(session, solved.digest, now - _WINDOW)
    if recent >= ceiling:
        raise IntakeRefused("rate_limited", retry_after=wait)
    if honeypot.strip():
        raise IntakeRefused("honeypot")
    try:
        challenge = verify_solution(secret, token, counter, now=now, min_bits=required_bits(vault, recent))
    except PowRefused as refused:
        raise IntakeRefused(
            "pow_harder" if refused.reason == "too_easy" else f"pow_{refused.reason}"
        ) from None
    return challenge  # not used before the answers are read (above); ``receive`` checks again


def receive(vault: Vault, ctx: Context, submission: Submission, *, used: Challenge | None = None) -> Receipt:
    """Open the case and seal the submission under its new key, in one transaction; audited.

    The case's data key is made first and the answers are sealed into a blob under it *before* the
    transaction (which takes the audit chain's lock, on SQLite the write lock), so a slow blob store
    holds up no other audited action; the transaction references the blob, and a transaction that
    fails deletes it: nothing of a failed submission stays.

    ``used``: the proof of work ``admit`` checked; it is used up in this transaction, which remembers the
    case it opened (``AlreadyReceived`` with that reference when it opened one already), so a failed
    transaction leaves it unused.
    """
    team_id = intake_team_id(vault)
    form = submission.form
    if submission.meldcode_step is not None and submission.meldcode_step not in MELDCODE_STEPS:
        raise ValueError("meldcode step out of range")
    # D19, D5: a date of birth after the day the report is received (the vault clock's Dutch date) is
    # refused here too, not only by the web form: the blind index would hold a person who cannot exist.
    today = local_date(ctx.now())
    client = submission.client.checked(today) if submission.client is not None else None
    subjects = [(relation, person.checked(today)) for relation, person in submission.subjects]
    if form is IntakeForm.ADVICE_CITIZEN and (submission.reporter is not None or subjects or client):
        raise ValueError("a citizen's advice request is anonymous (D2)")
    dek = new_data_key()
    sealed = seal_to_blob(vault, dek, [submission.narrative()])
    try:
        with vault.db.session() as session:
            if used is not None:
                use_up(session, used.digest, ctx.now(), ctx.now() - _WINDOW)
            case, workflow, _ = open_case_with_key(
                session,
                vault,
                ctx,
                kind=form.case_kind,
                team_id=team_id,
                legal_basis=DEFAULT_LEGAL_BASIS,
                owner_id=None,
                received_at=None,
                dek=dek,
            )
            if used is not None:
                remember_case(session, used.digest, case.id, ctx.now())
            workflow.meldcode_step = submission.meldcode_step
            set_client_pseudonyms(vault, workflow, client)
            if submission.reporter is not None:
                seal_reporter_identity(session, ctx, dek, case_id=case.id, reporter=submission.reporter)
            seal_subjects(session, vault, ctx, dek, case.id, subjects)
            add_version(
                session,
                ctx,
                dek,
                sealed,
                case_id=case.id,
                category=Category.REPORT if form.is_report else Category.ADVICE,
                title="Melding via het meldformulier" if form.is_report else "Adviesvraag via het formulier",
                filename="meldformulier.txt" if form.is_report else "adviesformulier.txt",
                content_type="text/plain; charset=utf-8",
            )
            record(
                session,
                ctx,
                AuditTag.INTAKE_SUBMISSION_RECEIVED,
                case_id=case.id,
                object_type="case",
                object_id=case.id,
                legal_basis=DEFAULT_LEGAL_BASIS,
                details={"form": str(form), "kind": str(form.case_kind), "subjects": len(subjects)},
            )
            case_id = case.id
    except BaseException as failure:  # D18: not when the commit's outcome is unknown (the sweep decides)
        discard_sealed_blob(vault, sealed.blob_id, failure)
        raise
    log.info("intake_received", case_id=case_id, form=str(form))
    return Receipt(case_id, reference_of(case_id), dek)


def receive_attachment(vault: Vault, ctx: Context, receipt: Receipt, attachment: Attachment) -> None:
    """Stream one attachment into a blob under the case key (outside any transaction), then reference it.

    The request's size was checked before the case was opened; a stream that still fails (the
    client went away) leaves no blob and the case keeps the answers already received.
    """
    sealed = seal_to_blob(vault, receipt.dek, attachment.chunks)
    try:
        with vault.db.session() as session:
            stored = add_version(
                session,
                ctx,
                receipt.dek,
                sealed,
                case_id=receipt.case_id,
                category=Category.CORRESPONDENCE,
                title="Bijlage bij het online formulier",
                filename=attachment.filename or "bijlage",
                content_type=attachment.content_type,
            )
            record(
                session,
                ctx,
                AuditTag.INTAKE_ATTACHMENT_RECEIVED,
                case_id=receipt.case_id,
                object_type="document",
                object_id=stored.document_id,
                legal_basis=DEFAULT_LEGAL_BASIS,
                details={"bytes": sealed.plaintext_length},
            )
    except BaseException as failure:  # D18: not when the commit's outcome is unknown (the sweep decides)
        discard_sealed_blob(vault, sealed.blob_id, failure)
        raise
