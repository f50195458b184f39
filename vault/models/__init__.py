"""ORM models. Import every model module here so ``Base.metadata`` is complete for Alembic."""

from vault.models.audit import AuditCheckpoint, AuditEntry, BreakGlassReview
from vault.models.base import Base
from vault.models.case import Case, CaseAssignment, CaseKey
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
from vault.models.meta import VaultMeta
from vault.models.rights import AccessRequest, DestructionCertificate, DestructionRequest, RetentionExtension
from vault.models.subject import Consent, ReporterIdentity, Subject
from vault.models.workflow import CaseWorkflow, MonitoringCheck, OwnMotionApproval, OwnMotionConversion

__all__ = [
    "AccessRequest",
    "AuditCheckpoint",
    "AuditEntry",
    "AuthAttempt",
    "AuthSession",
    "Base",
    "BreakGlassReview",
    "Case",
    "CaseAssignment",
    "CaseKey",
    "CaseWorkflow",
    "Consent",
    "DestructionCertificate",
    "DestructionRequest",
    "Document",
    "DocumentVersion",
    "Grant",
    "GrantItem",
    "MonitoringCheck",
    "Organisation",
    "OwnMotionApproval",
    "OwnMotionConversion",
    "RecoveryCode",
    "ReporterIdentity",
    "RetentionExtension",
    "Subject",
    "Team",
    "TeamMembership",
    "TotpFactor",
    "User",
    "VaultMeta",
]
