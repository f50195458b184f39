"""The page routers, one small module per area."""

from __future__ import annotations

from fastapi import APIRouter

from vault.web.routes.admin import router as admin_router
from vault.web.routes.auth import router as auth_router
from vault.web.routes.break_glass_documents import router as break_glass_documents_router
from vault.web.routes.caseload import router as caseload_router
from vault.web.routes.cases import router as cases_router
from vault.web.routes.consents import router as consents_router
from vault.web.routes.disclosures import router as disclosures_router
from vault.web.routes.documents import router as documents_router
from vault.web.routes.journal import router as journal_router
from vault.web.routes.logcontrole import enrolment_router
from vault.web.routes.logcontrole import router as logcontrole_router
from vault.web.routes.opening import router as opening_router
from vault.web.routes.partner import router as partner_router
from vault.web.routes.passkeys import router as passkeys_router
from vault.web.routes.people import router as people_router
from vault.web.routes.privacy import router as privacy_router
from vault.web.routes.privacy_access import router as privacy_access_router
from vault.web.routes.recovery_codes import router as recovery_codes_router
from vault.web.routes.rights import router as rights_router
from vault.web.routes.rights_destruction import router as rights_destruction_router
from vault.web.routes.start import router as start_router
from vault.web.routes.step_up import router as step_up_router
from vault.web.routes.timeline import router as timeline_router
from vault.web.routes.workflow import router as workflow_router
from vault.web.routes.workflow_case import router as workflow_case_router

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    auth_router,
    step_up_router,
    passkeys_router,
    recovery_codes_router,
    start_router,
    caseload_router,
    # Before the case page: its /zaken/{reference} would take /zaken/nieuw and the like.
    opening_router,
    workflow_router,
    workflow_case_router,
    journal_router,
    rights_router,
    rights_destruction_router,
    timeline_router,
    people_router,
    consents_router,
    cases_router,
    break_glass_documents_router,
    documents_router,
    disclosures_router,
    partner_router,
    logcontrole_router,
    enrolment_router,
    privacy_router,
    privacy_access_router,
    admin_router,
)
