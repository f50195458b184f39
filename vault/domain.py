"""The vault's domain vocabulary (see DOMAIN.md's glossary). One place for every enumeration."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "Action",
    "AuditTag",
    "CaseKind",
    "Category",
    "Decision",
    "OrgType",
    "Role",
    "TriageOutcome",
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
    ADMIN_TEAM_CREATED = "admin:team:created"
    ADMIN_ORG_CREATED = "admin:org:created"
    ADMIN_MEMBERSHIP_CHANGED = "admin:membership:changed"
    DOSSIER_CASE_CREATED = "dossier:case:created"
    DOSSIER_CASE_READ = "dossier:case:read"
    DOSSIER_CASE_ASSIGNED = "dossier:case:assigned"
    DOSSIER_CASE_DESTROYED = "dossier:case:destroyed"
    DOSSIER_DOCUMENT_CREATED = "dossier:document:created"
    DOSSIER_DOCUMENT_READ = "dossier:document:read"
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
    DOSSIER_CLIENT_REIDENTIFIED = "dossier:client:reidentified"
    DOSSIER_DOCUMENT_TITLES_READ = "dossier:document-titles:read"
    DOSSIER_WORKLIST_VIEWED = "dossier:worklist:viewed"
    # Online intake through the public forms (docs/intake.md)
    INTAKE_SUBMISSION_RECEIVED = "intake:submission:received"
    INTAKE_ATTACHMENT_RECEIVED = "intake:attachment:received"
