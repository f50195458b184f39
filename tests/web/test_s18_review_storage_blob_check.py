"""Review S18, storage: the administrator's blob check (``/beheer/opslag``, ``vault blobs check``).

The check counted only the blobs it found: a missing blob was reported but not counted as checked,
so "Gecontroleerd" said fewer documents than were checked (all missing: 0 checked, n missing), and
the CLI said "all n referenced blobs present" with n too small. The page's sentence also read
"1 bestanden ontbreken of kloppen niet." Real SQLite, real blobs; a blob file removed from disk as a
lost disk sector or a careless operator would.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ctx_for, make_team, make_user, new_case, upload
from tests.web.test_admin_routes import make_admin
from tests.web.world import World, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import Role
from vault.models import DocumentVersion
from vault.runtime import Vault
from vault.services.blobs import BlobProblem, check_blobs


def _three_documents(vault: Vault) -> list[str]:
    """Three documents; their blob ids in the order the check reads them (by version id)."""
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    case_id = new_case(vault, worker, team)
    for n in range(3):
        upload(vault, worker, case_id, f"Gespreksverslag {n}\n".encode() * 20)
    with vault.db.session() as session:
        return list(session.scalars(select(DocumentVersion.blob_id).order_by(DocumentVersion.id)))


def test_s18_the_blob_check_counts_a_missing_blob_as_checked(vault: Vault) -> None:
    blobs = _three_documents(vault)
    vault.blobs.delete(blobs[-1])  # the last one the check reads is gone
    items = list(check_blobs(vault))
    problems = [i for i in items if isinstance(i, BlobProblem)]
    progress = [i for i in items if isinstance(i, int)]
    assert [p.problem for p in problems] == ["missing"]
    assert progress, "nothing was checked"
    assert progress[-1] == 3, f"checked {progress[-1]} of 3 documents"


def test_s18_the_blob_check_page_counts_and_says_it_in_dutch(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    _three_documents(vault)
    with vault.db.session() as session:
        every = list(session.scalars(select(DocumentVersion.blob_id).order_by(DocumentVersion.id)))
    vault.blobs.delete(every[-1])  # the last one the check reads is gone
    admin = make_admin(vault)
    client = TestClient(create_app(vault))
    web_login(client, admin, clock)
    page = client.get("/beheer/opslag")
    answer = client.post("/beheer/opslag", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 200
    text = answer.text
    assert f"<dt>Gecontroleerd</dt><dd>{len(every)}</dd>" in text, "every referenced document is checked"
    assert "<dt>Ontbreekt</dt><dd>1</dd>" in text
    assert "1 bestanden" not in text, "Dutch: one file is 'bestand', singular"
    assert "1 bestand ontbreekt of klopt niet." in text
