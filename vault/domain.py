"""The vault's domain vocabulary (see DOMAIN.md's glossary). One place for every enumeration."""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import Final

__all__ = [
    "BIDI_CONTROLS",
    "STAFF_ROLES",
    "Action",
    "AuditTag",
    "CaseKind",
    "Category",
    "Decision",
    "OrgType",
    "Role",
    "TriageOutcome",
    "disguising_characters",
    "reference_of",
]


class Role(StrEnum):
    MEDEWERKER = "medewerker"  # case worker
    VERTROUWENSARTS = "vertrouwensarts"  # confidential doctor: the only role that reads medical documents
    TEAMLEIDER = "teamleider"
    PRIVACY_OFFICER = "privacy_officer"  # FG: audits, never reads content
    ADMIN = "admin"  # manages users, teams, keys; never reads content
    PARTNER = "partner"  # external organisation; only through grants
    PROFESSIONAL = "professional"  # asked advice; sees only their own advice cases

    @property
    def is_staff(self) -> bool:
        return self in {Role.MEDEWERKER, Role.VERTROUWENSARTS, Role.TEAMLEIDER}


# The roles of Veilig Thuis staff, as stored in sessions and contexts (``Role.is_staff``).
STAFF_ROLES: Final[frozenset[str]] = frozenset(r.value for r in Role if r.is_staff)


class OrgType(StrEnum):
    VEILIG_THUIS = "veilig_thuis"
    LOCAL_TEAM = "local_team"
    CHILD_PROTECTION_BOARD = "child_protection_board"
    POLICE = "police"
    PUBLIC_PROSECUTOR = "public_prosecutor"
    PROBATION = "probation"
    VICTIM_SUPPORT = "victim_support"
    MUNICIPALITY = "municipality"
    GP = "gp"
    SCHOOL = "school"
    CARE_PROVIDER = "care_provider"
    OTHER = "other"


class CaseKind(StrEnum):
    ADVICE_HELP_SEEKER = "advice_help_seeker"  # D2
    ADVICE_PROFESSIONAL = "advice_professional"  # D3
    REPORT = "report"  # melding


class Category(StrEnum):
    """Document / data categories of a case. Disclosures name categories (D10)."""

    REPORT = "report"
    ADVICE = "advice"
    SAFETY_CONDITIONS = "safety_conditions"
    SAFETY_ASSESSMENT = "safety_assessment"
    INVESTIGATION = "investigation"
    MEDICAL = "medical"  # vertrouwensarts only
    REPORTER_IDENTITY = "reporter_identity"  # D8: excluded from every disclosure unless consent/release
    CORRESPONDENCE = "correspondence"
    STATEMENT = "statement"  # zienswijze, D14
    SUBJECTS = "subjects"  # the personal fields of the people involved


class Action(StrEnum):
    READ = "read"
    WRITE = "write"
    DISCLOSE = "disclose"
    EXPORT = "export"
    AUDIT = "audit"
    ADMINISTER = "administer"


class TriageOutcome(StrEnum):
    """D6: the enumerated outcome of triage / the safety assessment."""

    HANDOVER_LOCAL_TEAM = "handover_local_team"
    CONDITIONS_FOLLOWUP = "conditions_followup"
    INVESTIGATION = "investigation"
    REQUEST_CHILD_PROTECTION_BOARD = "request_child_protection_board"
    END = "end"


class Decision(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class AuditTag(StrEnum):
    """Audit action tags, shaped ``source:subject:action``."""

    SYSTEM_VAULT_INIT = "system:vault:init"
    SYSTEM_KEYS_ROTATE = "system:keys:rotate"
    SYSTEM_POLICY_RELOAD = "system:policy:reload"
    SYSTEM_POLICY_RELOAD_REQUESTED = "system:policy:reload-requested"
    AUTH_LOGIN_OK = "auth:login:ok"
    AUTH_LOGIN_FAILED = "auth:login:failed"
    AUTH_TOTP_OK = "auth:totp:ok"
    AUTH_TOTP_FAILED = "auth:totp:failed"
    AUTH_TOTP_REPLAYED = "auth:totp:replayed"
    AUTH_TOTP_ENROLLED = "auth:totp:enrolled"
    AUTH_TOTP_RESET = "auth:totp:reset"
    AUTH_LOCKOUT = "auth:account:lockout"
    AUTH_RECOVERY_USED = "auth:recovery:used"
    AUTH_RECOVERY_REGENERATED = "auth:recovery:regenerated"
    AUTH_SESSION_ENDED = "auth:session:ended"
    AUTH_PASSWORD_CHANGED = "auth:password:changed"  # noqa: S105 - an audit tag, not a secret
    ADMIN_USER_CREATED = "admin:user:created"
    ADMIN_USER_DISABLED = "admin:user:disabled"
    ADMIN_USER_ENABLED = "admin:user:enabled"
    ADMIN_USER_PASSWORD_RESET = "admin:user:password-reset"  # noqa: S105 - an audit tag
    ADMIN_TEAM_CREATED = "admin:team:created"
    ADMIN_ORG_CREATED = "admin:org:created"
    ADMIN_MEMBERSHIP_CHANGED = "admin:membership:changed"
    DOSSIER_CASE_CREATED = "dossier:case:created"
    DOSSIER_CASE_READ = "dossier:case:read"
    DOSSIER_CASE_ASSIGNED = "dossier:case:assigned"
    DOSSIER_CASE_DESTROYED = "dossier:case:destroyed"
    DOSSIER_DOCUMENT_CREATED = "dossier:document:created"
    DOSSIER_DOCUMENT_READ = "dossier:document:read"
    DOSSIER_DOCUMENT_READ_FAILED = "dossier:document:read_failed"
    DOSSIER_ACCESS_DENIED = "dossier:access:denied"
    DOSSIER_PERSON_LOOKUP = "dossier:person:lookup"
    DISCLOSURE_GRANT_CREATED = "disclosure:grant:created"
    DISCLOSURE_GRANT_REVOKED = "disclosure:grant:revoked"
    DISCLOSURE_GRANT_DENIED = "disclosure:grant:denied"
    AUDIT_CHECKPOINT_CREATED = "audit:checkpoint:created"
    AUTH_TOTP_ENROLMENT_STARTED = "auth:totp:enrolment-started"
    AUTH_RECOVERY_FAILED = "auth:recovery:failed"
    AUTH_STEP_UP_OK = "auth:step-up:ok"
    AUTH_PASSWORD_CHANGE_FAILED = "auth:password:change-failed"  # noqa: S105 - an audit tag
    AUDIT_LOG_VERIFIED = "audit:log:verified"
    AUDIT_LOG_VERIFY_STARTED = "audit:log:verify-started"  # the privacy officer started a full verify
    AUDIT_LOG_EXPORTED = "audit:log:exported"
    AUDIT_LOG_SEARCHED = "audit:log:searched"
    AUDIT_ACCESS_REPORT_VIEWED = "audit:access-report:viewed"
    AUDIT_BREAK_GLASS_LISTED = "audit:break-glass:listed"
    AUDIT_BREAK_GLASS_REVIEWED = "audit:break-glass:reviewed"
    AUDIT_INTEGRITY_VIEWED = "audit:integrity:viewed"
    AUDIT_CHECKPOINT_VIEWED = "audit:checkpoint:viewed"
    AUDIT_PROOF_ISSUED = "audit:proof:issued"
    AUDIT_ACCESS_DENIED = "audit:access:denied"
    # Cases and the Veilig Thuis way of working (D2–D8, D19)
    DOSSIER_SUBJECT_ADDED = "dossier:subject:added"
    DOSSIER_SUBJECT_READ = "dossier:subject:read"
    DOSSIER_SUBJECT_CORRECTED = "dossier:subject:corrected"  # issue 17: re-sealed, indexes updated
    DOSSIER_CONSENT_READ = "dossier:consent:read"  # issue 17: what a withdrawal would revoke
    DOSSIER_REPORTER_IDENTITY_RECORDED = "dossier:reporter-identity:recorded"
    DOSSIER_REPORTER_IDENTITY_READ = "dossier:reporter-identity:read"
    DOSSIER_REPORTER_IDENTITY_CONSENT = "dossier:reporter-identity:consent"
    DOSSIER_REPORTER_IDENTITY_RELEASED = "dossier:reporter-identity:released"
    DOSSIER_CONSENT_RECORDED = "dossier:consent:recorded"
    DOSSIER_CONSENT_WITHDRAWN = "dossier:consent:withdrawn"
    DOSSIER_MELDCODE_STEP = "dossier:meldcode:step"
    DOSSIER_TRIAGE_DECIDED = "dossier:triage:decided"
    DOSSIER_INVESTIGATION_UPDATED = "dossier:investigation:updated"
    DOSSIER_MONITORING_DONE = "dossier:monitoring:done"
    DOSSIER_OWN_MOTION_REQUESTED = "dossier:own-motion:requested"
    DOSSIER_OWN_MOTION_APPROVED = "dossier:own-motion:approved"
    DOSSIER_OWN_MOTION_CONVERTED = "dossier:own-motion:converted"
    # Issue 17 (H4): a monitoring moment postponed (D7); a pending conversion read for approval (D4)
    DOSSIER_MONITORING_POSTPONED = "dossier:monitoring:postponed"
    DOSSIER_OWN_MOTION_READ = "dossier:own-motion:read"
    # D4: a pending conversion withdrawn (by who asked it, or a team leader) or declined with a code
    DOSSIER_OWN_MOTION_WITHDRAWN = "dossier:own-motion:withdrawn"
    DOSSIER_OWN_MOTION_DECLINED = "dossier:own-motion:declined"
    # Issue 17 (H5): journal notes (aantekeningen), sealed under the case key
    DOSSIER_NOTE_ADDED = "dossier:note:added"
    DOSSIER_NOTES_READ = "dossier:notes:read"
    DOSSIER_CLIENT_REIDENTIFIED = "dossier:client:reidentified"
    DOSSIER_DOCUMENT_TITLES_READ = "dossier:document-titles:read"
    DOSSIER_WORKLIST_VIEWED = "dossier:worklist:viewed"
    # Issue 17 (H1): finding a case by reference, case lists with family names, caseload, timeline
    DOSSIER_REFERENCE_SEARCHED = "dossier:reference:searched"
    DOSSIER_FAMILY_NAME_READ = "dossier:family-name:read"
    DOSSIER_CASELOAD_VIEWED = "dossier:caseload:viewed"
    DOSSIER_TIMELINE_READ = "dossier:timeline:read"
    # Online intake through the public forms (docs/intake.md)
    INTAKE_SUBMISSION_RECEIVED = "intake:submission:received"
    INTAKE_ATTACHMENT_RECEIVED = "intake:attachment:received"
    # Subjects' rights, retention and destruction (D11–D13)
    RIGHTS_ACCESS_REQUESTED = "rights:access:requested"
    RIGHTS_ACCESS_EXTENDED = "rights:access:extended"
    RIGHTS_ACCESS_COMPLETED = "rights:access:completed"
    RIGHTS_ACCESS_LISTED = "rights:access:listed"
    RIGHTS_INZAGE_EXPORTED = "rights:inzage:exported"
    RIGHTS_DESTRUCTION_REQUESTED = "rights:destruction:requested"
    RIGHTS_DESTRUCTION_GRANTED = "rights:destruction:granted"
    RIGHTS_DESTRUCTION_REFUSED = "rights:destruction:refused"
    RIGHTS_RETENTION_EXTENDED = "rights:retention:extended"
    RIGHTS_LEGAL_HOLD_LIFTED = "rights:legal-hold:lifted"  # D12
    DOSSIER_CASE_UNASSIGNED = "dossier:case:unassigned"
    DOSSIER_CASE_CERTIFIED = "dossier:case:certified"
    DISCLOSURE_GRANT_EXTENDED = "disclosure:grant:extended"
    DISCLOSURE_INBOX_LISTED = "disclosure:inbox:listed"
    DISCLOSURE_HISTORY_READ = "disclosure:history:read"
    DISCLOSURE_FEEDBACK_PREPARED = "disclosure:feedback:prepared"
    # Reads of case data that are lists or registers (issue 16: every read is audited)
    DISCLOSURE_REGISTER_READ = "disclosure:register:read"
    DISCLOSURE_CONSENTS_LISTED = "disclosure:consents:listed"
    # A disclosure held back: a live one to the same organisation already covers part of it (issue 17)
    DISCLOSURE_GRANT_DUPLICATE_WARNED = "disclosure:grant:duplicate-warned"
    RIGHTS_DESTRUCTION_LISTED = "rights:destruction:listed"
    RIGHTS_CERTIFICATE_READ = "rights:certificate:read"
    # Inzage: staff review of free text before it enters a copy (D13, D22)
    RIGHTS_INZAGE_ITEMS_LISTED = "rights:inzage:items-listed"
    RIGHTS_INZAGE_REVIEWED = "rights:inzage:reviewed"
    RIGHTS_INZAGE_ITEM_RELEASED = "rights:inzage:item-released"
    RIGHTS_INZAGE_ITEM_WITHHELD = "rights:inzage:item-withheld"
    # Issue 17 (H6): the requests of one case read (the case page, a request's own page)
    RIGHTS_REQUESTS_READ = "rights:requests:read"
    # Operations
    SYSTEM_DEMO_LOADED = "system:demo:loaded"
    SYSTEM_KEYS_REWRAPPED = "system:keys:rewrapped"
    SYSTEM_KEYS_REMOVED = "system:keys:removed"
    SYSTEM_KEYS_EPOCH_DESTROYED = "system:keys:epoch_destroyed"
    SYSTEM_KEYS_MIGRATED = "system:keys:migrated"
    SYSTEM_KEYS_SPLIT = "system:keys:split"
    SYSTEM_KEYS_RECOVERED = "system:keys:recovered"
    SYSTEM_RETENTION_SWEPT = "system:retention:swept"
    SYSTEM_READINESS_PROBE = "system:readiness:probe"
    # Availability (docs/security.md "Review findings: availability"): for the administrators
    AUTH_ACCOUNT_CEILING = "auth:account:ceiling-reached"
    # Administrator pages (issue 18): refusals, role changes, the blob-store check
    ADMIN_ACCESS_DENIED = "admin:access:denied"
    ADMIN_ROLE_CHANGED = "admin:user:role-changed"
    ADMIN_BLOBS_CHECKED = "admin:blobs:checked"
    ADMIN_BLOBS_SWEPT = "admin:blobs:swept"
    # Passkeys (WebAuthn) beside TOTP (docs/security.md "Second factors: TOTP, recovery codes, passkeys")
    AUTH_PASSKEY_REGISTRATION_STARTED = "auth:passkey:registration-started"
    AUTH_PASSKEY_REGISTERED = "auth:passkey:registered"
    AUTH_PASSKEY_REGISTRATION_FAILED = "auth:passkey:registration-failed"
    AUTH_PASSKEY_ASSERTION_STARTED = "auth:passkey:assertion-started"
    AUTH_PASSKEY_OK = "auth:passkey:ok"
    AUTH_PASSKEY_FAILED = "auth:passkey:failed"
    AUTH_PASSKEY_CLONE_SUSPECTED = "auth:passkey:clone-suspected"
    AUTH_PASSKEY_REMOVED = "auth:passkey:removed"
    AUTH_PASSKEY_REVOKED = "auth:passkey:revoked"
    AUTH_PASSKEY_REQUIRED = "auth:passkey:required"
    AUTH_PASSKEY_ENROLMENT_ONLY = "auth:passkey:enrolment-only"
    AUTH_FACTORS_LISTED = "auth:factors:listed"
    # Logcontrole (D21): the daily review of the audit log and the privacy officer's findings
    AUDIT_REVIEW_RUN = "audit:review:run"
    AUDIT_FINDINGS_LISTED = "audit:findings:listed"
    AUDIT_FINDING_VIEWED = "audit:finding:viewed"
    AUDIT_FINDING_STATUS_CHANGED = "audit:finding:status-changed"
    # The privacy officer marked a case protected (or not): oversight, hidden from staff (D21).
    AUDIT_CASE_PROTECTION_CHANGED = "audit:case:protection-changed"
    DOSSIER_CASE_PROTECTION_CHANGED = "dossier:case:protection-changed"
    AUTH_ENROLMENT_RECORDED = "auth:enrolment:recorded"


# The bidirectional-text controls: marks, embeddings, overrides and isolates. Typed into a name or a
# reason, they make it show in another order than it reads ("fact\u202eTXT.exe"), so the text a
# colleague or the privacy officer sees is not the text that was written. Refused wherever a person's
# typed text is shown to someone judging it (file names and titles, a break-the-glass justification).
BIDI_CONTROLS: Final = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def disguising_characters(value: str) -> bool:
    """Whether ``value`` holds a control character (C0, DEL, C1: category Cc) or a bidi control: what
    titles, file names and the names and addresses of people are refused for (D8, D19)."""
    return any(unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS for ch in value)


def reference_of(case_id: str) -> str:
    """The reference a submitter quotes on the phone: the case id's first 8 characters, as staff see it."""
    short = case_id.replace("-", "")[:8].upper()
    return f"VT-{short[:4]}-{short[4:]}"
