"""Set-up shared by the partner-lifecycle tests (real HTTP, real accounts with TOTP, real crypto)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient

from tests.helpers import ApiUser, team_id_of
from vault.context import Context
from vault.domain import CaseKind, Category, Role
from vault.runtime import Vault
from vault.services.cases import open_case

TEAM = "Team Verstrekkingen"
CONTACT = {"contact_name": "Marieke de Vries", "contact_phone": "030 123 45 67"}


def open_report(vault: Vault, worker: ApiUser, team: str = TEAM, kind: CaseKind = CaseKind.REPORT) -> str:
    """A case of ``kind`` (a report unless told) in ``team``, opened by ``worker``."""
    ctx = Context(
        actor_id=worker.user_id,
        role=str(Role.MEDEWERKER),
        access_point="test",
        second_factor_verified=True,
        clock=vault.clock,
    )
    team_id = team_id_of(vault, team)
    with vault.db.session() as session:
        return open_case(session, vault, ctx, kind=kind, team_id=team_id).id


def put_doc(
    client: TestClient,
    user: ApiUser,
    case_id: str,
    data: bytes,
    category: Category = Category.SAFETY_CONDITIONS,
    *,
    document_id: str | None = None,
) -> str:
    params = {"category": str(category)}
    if document_id:
        params["document_id"] = document_id
    r = client.post(
        f"/api/v1/cases/{case_id}/documents",
        params=params,
        content=data,
        headers={
            **user.headers,
            "X-Document-Title": quote("Verslag"),
            "X-Document-Filename": quote("verslag.txt"),
            "Content-Type": "text/plain",
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["document_id"])


def disclose(client: TestClient, user: ApiUser, case_id: str, **body: object) -> tuple[int, dict[str, Any]]:
    """POST a disclosure (with the D23 contact) through the API: (status, answer)."""
    r = client.post(f"/api/v1/cases/{case_id}/disclosures", headers=user.headers, json={**CONTACT, **body})
    return r.status_code, r.json()
