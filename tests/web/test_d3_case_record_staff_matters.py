"""D3/D9 on the case record: the professional who asked advice may read their own advice case, but
not Veilig Thuis's own business on it. The case page's consents panel and the case view's list of
events (API ``POST /api/v1/cases/{id}/view``) leave out the consents to share (who gave which, to share
with whom) and the lines of staff's own business (``case_view.STAFF_MATTERS``), as the timeline page
already does. Staff keep both."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers import ctx_for
from tests.web.test_d3_share_form_staff_only import FAMILY_CARE, _advice_with_a_sharing_consent
from tests.web.world import web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import Role
from vault.runtime import Vault
from vault.services.case_view import STAFF_MATTERS, view_case


def test_d3_the_professionals_case_page_and_view_hold_no_consent_to_share(
    vault: Vault, clock: FrozenClock
) -> None:
    advice = _advice_with_a_sharing_consent(vault)
    pro = ctx_for(vault, advice.professional.user_id, Role.PROFESSIONAL, org_id=advice.professional.org_id)
    theirs = view_case(vault, pro, advice.case_id)
    assert theirs.consents == []
    assert not [e.tag for e in theirs.timeline if e.tag.startswith(STAFF_MATTERS)]
    with TestClient(create_app(vault)) as client:
        web_login(client, advice.professional, clock)
        page = client.get(f"/zaken/{advice.case_id}")
    assert page.status_code == 200, page.text[:300]
    assert FAMILY_CARE not in page.text
    assert advice.consent_id not in page.text
    assert "/toestemmingen/nieuw" not in page.text  # recording a consent is staff's (d9-consent-staff-only)


def test_d3_staff_keep_the_consents_and_the_whole_record(vault: Vault, clock: FrozenClock) -> None:
    advice = _advice_with_a_sharing_consent(vault)
    worker = ctx_for(vault, advice.worker.user_id, Role.MEDEWERKER)
    ours = view_case(vault, worker, advice.case_id)
    assert [c.consent_id for c in ours.consents] == [advice.consent_id]
    assert [e.tag for e in ours.timeline if e.tag.startswith("dossier:consent:")]
    with TestClient(create_app(vault)) as client:
        web_login(client, advice.worker, clock)
        page = client.get(f"/zaken/{advice.case_id}")
    assert FAMILY_CARE in page.text
    assert f"/zaken/{advice.case_id}/toestemmingen/nieuw" in page.text
