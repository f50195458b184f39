"""ORM models. Import every model module here so ``Base.metadata`` is complete for Alembic."""

from vault.models.audit import (
    AuditCheckpoint,
    AuditCosignature,
    AuditEntry,
    BreakGlassAccess,
    BreakGlassAccessEntry,
    BreakGlassReview,
)
from vault.models.base import Base
from vault.models.case import Case, CaseAssignment, CaseKey, IntakeReceipt
from vault.models.document import Document, DocumentVersion
from vault.models.grant import Grant, GrantItem
from vault.models.identity import (
    AuthAttempt,
    AuthSession,
    Organisation,
    RecoveryCode,
    Team,
    TeamMembership,
    TotpFactor,
    User,
)
from vault.models.journal import CaseNote
from vault.models.keys import KekBackup, KekBackupKey, KekEpoch, WrappedSubkey
from vault.models.logcontrole import Finding, FindingEntry, StaffIndex
from vault.models.meta import VaultMeta
from vault.models.rights import (
    AccessRequest,
    DestructionCertificate,
    DestructionRequest,
    InzageItemReview,
    RetentionExtension,
)
from vault.models.subject import Consent, ReporterIdentity, Subject
from vault.models.workflow import (
    CaseWorkflow,
    ClientReidentification,
    ClientReidentificationMatch,
    MonitoringCheck,
    MonitoringPostponement,
    OwnMotionApproval,
    OwnMotionConversion,
)

__all__ = [
    "AccessRequest",
    "AuditCheckpoint",
    "AuditCosignature",
    "AuditEntry",
    "AuthAttempt",
    "AuthSession",
    "Base",
    "BreakGlassAccess",
    "BreakGlassAccessEntry",
    "BreakGlassReview",
    "Case",
    "CaseAssignment",
    "CaseKey",
    "CaseNote",
    "CaseWorkflow",
    "ClientReidentification",
    "ClientReidentificationMatch",
    "Consent",
    "DestructionCertificate",
    "DestructionRequest",
    "Document",
    "DocumentVersion",
    "Finding",
    "FindingEntry",
    "Grant",
    "GrantItem",
    "IntakeReceipt",
    "InzageItemReview",
    "KekBackup",
    "KekBackupKey",
    "KekEpoch",
    "MonitoringCheck",
    "MonitoringPostponement",
    "Organisation",
    "OwnMotionApproval",
    "OwnMotionConversion",
    "RecoveryCode",
    "ReporterIdentity",
    "RetentionExtension",
    "StaffIndex",
    "Subject",
    "Team",
    "TeamMembership",
    "TotpFactor",
    "User",
    "VaultMeta",
    "WrappedSubkey",
]
