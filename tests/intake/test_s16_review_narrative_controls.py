"""Session 16 review, P4: a control character pasted into the public form keeps the report from the
partner it is handed over to.

The concern ("Waar maakt u zich zorgen over?") is stored as the report's text document as typed.
Text pasted from a word processor or a PDF can carry invisible control characters (Word's optional
and non-breaking hyphens are U+001F and U+001E, a PDF's hyphen often U+0002). A partner's copy goes
out unchanged only when it is plain text without control characters (``copy_kind``): with one
invisible character in it, the report a citizen sent is refused to the local team at the handover
(D6, D23: "Dit document kan niet worden verstrekt"), and staff must retype it before it can be
shared (D10, D22). The short fields already refuse such characters (D19); in the free text they are
invisible and carry nothing, so the stored answers leave them out (line breaks and tabs stay).
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import api_user
from tests.partner_api import disclose
from tests.web.world import TEAM, World
from vault.context import FrozenClock
from vault.domain import OrgType, Role
from vault.models import Case
from vault.runtime import Vault
from vault.services.pow import solve

PASTED = (
    "Ik zag dat hij het kind sloeg.\x1f Zij riep om hulp\x1e en\x02 daarna\twas het stil.\r\n"
    "Meer weet ik niet."
)


def _case_of(vault: Vault, reference: str) -> str:
    short = reference[3:].replace("-", "").lower()
    with vault.db.session() as session:
        [case_id] = [c for c in session.scalars(select(Case.id)) if c.replace("-", "")[:8] == short]
    return str(case_id)


def test_d6_d22_a_report_with_a_pasted_control_character_can_still_be_handed_to_the_partner(
    client: TestClient, vault: Vault, world: World, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)  # the intake team
    partner = api_user(client, vault, clock, Role.PARTNER, org=("Lokaal team s16", OrgType.LOCAL_TEAM))
    issued = client.get("/formulier/uitdaging").json()
    fields = {
        "uitdaging": issued["challenge"],
        "teller": solve(issued["challenge"], issued["bits"]),
        "website": "",
        "naam": "Melder S16",
        "contact": "06-99887766",
        "relatie": "buren",
        "betrokkene_rol": "kind",
        "zorgen": PASTED,
    }
    sent = client.post(
        "/melden/burger", data=fields, files={"bijlage": ("", b"", "application/octet-stream")}
    )
    assert sent.status_code == 201, sent.text
    status, grant = disclose(
        client,
        worker,
        _case_of(vault, sent.json()["reference"]),
        org_id=partner.org_id,
        purpose="warme overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=["report"],
    )
    assert status == 201, grant
    inbox = client.get("/api/v1/partner/inbox", headers=partner.headers).json()
    [doc] = inbox[0]["documents"]
    r = client.get(f"/api/v1/documents/{doc['document_id']}/content", headers=partner.headers)
    assert r.status_code == 200, (
        "the report a citizen sent through the form is refused to the partner: " + r.text[:300]
    )
    text = r.content.decode("utf-8")
    stored = "Ik zag dat hij het kind sloeg. Zij riep om hulp en daarna\twas het stil.\nMeer weet ik niet."
    assert stored in text
