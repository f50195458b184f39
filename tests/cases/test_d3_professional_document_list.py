"""D3 / D10: the professional who asked advice reads their own advice case, but never medical
documents (the vertrouwensarts' only) — nor the fact that one exists: the case view lists only
documents of categories the reader outside staff may read. Staff still see every document listed
(titles per category: no medical titles for a medewerker)."""

from __future__ import annotations

from tests.helpers import ctx_for, make_team, make_user, upload
from vault.domain import Category, Role
from vault.runtime import Vault
from vault.services.case_view import view_case
from vault.services.cases import open_professional_advice


def test_d3_d10_the_outside_professional_is_not_shown_that_a_medical_document_exists(vault: Vault) -> None:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    doctor = ctx_for(vault, make_user(vault, Role.VERTROUWENSARTS, teams=[team]), Role.VERTROUWENSARTS)
    professional = make_user(vault, Role.PROFESSIONAL)
    with vault.db.session() as session:
        advice = open_professional_advice(
            session, vault, worker, professional_id=professional, meldcode_step=1, team_id=team
        ).id
    medical = upload(vault, doctor, advice, b"Letselrapportage.", category=Category.MEDICAL, title="Letsel")
    advice_doc = upload(vault, worker, advice, b"Advies.", category=Category.ADVICE, title="Adviesgesprek")
    own = ctx_for(vault, professional, Role.PROFESSIONAL)
    theirs = view_case(vault, own, advice)
    assert [(d.document_id, d.category, d.title) for d in theirs.documents] == [
        (advice_doc, "advice", "Adviesgesprek")
    ]
    # Staff: the medical document is listed, its title only for the vertrouwensarts.
    staff_view = {d.document_id: d.title for d in view_case(vault, worker, advice).documents}
    assert staff_view == {medical: None, advice_doc: "Adviesgesprek"}
    doctor_view = {d.document_id: d.title for d in view_case(vault, doctor, advice).documents}
    assert doctor_view == {medical: "Letsel", advice_doc: "Adviesgesprek"}
