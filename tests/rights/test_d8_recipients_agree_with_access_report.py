"""D8, D13, D15: the copy does not single out the recipient that also received the reporter's identity.
Such a grant is listed under "Verstrekt aan" without that category and keeps its entries in the copy's
access report (creation, changes, reads: tag, time, actor, ground) like every other grant; only a grant
that carried nothing but the reporter's identity is neither listed nor shown
(``inzage_recipients.unlisted_grants``)."""

from __future__ import annotations

from dataclasses import replace

from tests.helpers import make_org
from vault.context import Context, FrozenClock
from vault.domain import Category, OrgType
from vault.runtime import Vault
from vault.services import rights
from vault.services.cases import open_report
from vault.services.disclosure_requests import DisclosureRequest
from vault.services.disclosures import create_disclosure
from vault.services.inzage import export_for_subject
from vault.services.subjects import (
    PersonFields,
    Relation,
    ReporterFields,
    add_subject,
    record_reporter_consent,
)

LOCAL = "Lokaal team Kanarie-West"
POLICE = "Politie Kanarie-Oost"


def _disclose(
    vault: Vault, ctx: Context, case_id: str, org: str, basis: str, cats: set[Category], reporter: bool
) -> None:
    create_disclosure(
        vault,
        replace(ctx, factor_checked_at=ctx.now()),
        DisclosureRequest(
            contact_name="Marieke de Vries",
            contact_phone="030 123 45 67",
            case_id=case_id,
            org_id=org,
            purpose="overdracht",
            legal_basis=basis,
            categories=frozenset(cats),
            partner_title="Afspraken",
            include_reporter_identity=reporter,
        ),
    )


def test_d8_the_copy_does_not_single_out_the_recipient_of_the_reporters_identity(
    vault: Vault, team: str, worker: Context, clock: FrozenClock
) -> None:
    with vault.db.session() as session:
        case_id = open_report(
            session,
            vault,
            worker,
            team_id=team,
            reporter=ReporterFields(name="Buurvrouw", professional=False),
        ).id
    mother = add_subject(vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Moeder"))
    record_reporter_consent(vault, worker, case_id)
    clock.advance(days=1)
    local = make_org(vault, OrgType.LOCAL_TEAM, LOCAL)
    _disclose(vault, worker, case_id, local, "wmo-4.1.1-2-help", {Category.SAFETY_CONDITIONS}, False)
    clock.advance(days=1)
    police = make_org(vault, OrgType.POLICE, POLICE)
    _disclose(
        vault,
        worker,
        case_id,
        police,
        "wmo-4.1.1-2-police",
        {Category.SAFETY_CONDITIONS, Category.REPORTER_IDENTITY},
        True,
    )
    clock.advance(days=1)
    worker = replace(worker, factor_checked_at=clock.now())
    request = rights.record_access_request(
        vault, worker, case_id, subject_id=mother, received_on=worker.now().date()
    )
    copy = export_for_subject(vault, worker, case_id, mother, access_request_id=request.id).as_dict()
    listed = {r["organisation"]: r["disclosed_at"] for r in copy["recipients"]}
    assert set(listed) == {LOCAL, POLICE}
    created = [a["at"] for a in copy["access_report"] if a["action"] == "disclosure:grant:created"]
    has_line = {org: at in created for org, at in listed.items()}
    assert has_line[LOCAL] == has_line[POLICE], (
        f"only some recipients have their creation line in the access report: {has_line} - the one without "
        "is the one that received the reporter's identity"
    )
