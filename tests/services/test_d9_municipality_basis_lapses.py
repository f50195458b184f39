"""D9: the municipality's basis (``wmo-4.1.1-2-rvdk-municipality``) holds only while the child protection
board is asked to investigate the case: the triage outcome is the request to the board, or a disclosure to
the board is live. When that ends, the municipality's disclosure ends with it, not only new ones:

- revoking the board's disclosure revokes the municipality's in the same transaction, each with its own
  ``disclosure:grant:revoked`` entry (rule ``d9-rvdk-not-asked``, ids only), as withdrawing a consent
  revokes the disclosures resting on it;
- a board disclosure that merely expires needs no one to act: from that moment the municipality can no
  longer retrieve, and its inbox no longer lists the case.
While the board is still asked (another live disclosure to the board, or the triage outcome), nothing
changes. Real services and database; the clock is the only double."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.helpers import case_entries, ctx_for, make_org, make_team, make_user, new_case, upload
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Category, OrgType, Role, TriageOutcome
from vault.errors import NotFound
from vault.models import AuditEntry, Grant
from vault.runtime import Vault
from vault.services import disclosures, partner_view, triage
from vault.services.documents import read_document

MUNICIPALITY_BASIS = "wmo-4.1.1-2-rvdk-municipality"
BOARD_BASIS = "wmo-4.1.1-2-rvdk"
REPORT_TEXT = b"Melding: zorgen over het kind.\n"
MUNICIPALITY = "Gemeente Kanariestad"


def _request(case_id: str, org_id: str, basis: str, **extra: object) -> disclosures.DisclosureRequest:
    values: dict[str, object] = {
        "case_id": case_id,
        "org_id": org_id,
        "purpose": "verzoek tot onderzoek",
        "legal_basis": basis,
        "categories": frozenset({Category.REPORT}),
        "contact_name": "Sanne de Vries",
        "contact_phone": "030 123 45 67",
    }
    return disclosures.DisclosureRequest(**(values | extra))  # type: ignore[arg-type]


class Shared:
    """A report shared with the board and, on the board's request, with the municipality."""

    def __init__(self, vault: Vault, *, board_days: int = 30) -> None:
        self.vault = vault
        self.team = make_team(vault)
        self.worker_id = make_user(vault, Role.MEDEWERKER, teams=[self.team])
        self.case_id = new_case(vault, self.worker(), self.team)
        self.doc = upload(vault, self.worker(), self.case_id, REPORT_TEXT, category=Category.REPORT)
        self.board = make_org(vault, OrgType.CHILD_PROTECTION_BOARD, "Raad voor de Kinderbescherming")
        self.municipality = make_org(vault, OrgType.MUNICIPALITY, MUNICIPALITY)
        self.to_board = disclosures.create_disclosure(
            vault, self.worker(), _request(self.case_id, self.board, BOARD_BASIS, valid_days=board_days)
        ).id
        self.to_municipality = disclosures.create_disclosure(
            vault, self.worker(), _request(self.case_id, self.municipality, MUNICIPALITY_BASIS, valid_days=60)
        ).id
        self.official_id = make_user(vault, Role.PARTNER, org_id=self.municipality)

    def worker(self) -> Context:
        return ctx_for(self.vault, self.worker_id, Role.MEDEWERKER)  # a fresh second factor, now

    def official(self) -> Context:
        return ctx_for(self.vault, self.official_id, Role.PARTNER, org_id=self.municipality)

    def retrieves(self, *, named: bool = False) -> bool:
        """Can the municipality retrieve the report (through the grant that covers it, or named)?"""
        grant = self.to_municipality if named else None
        try:
            opened = read_document(self.vault, self.official(), self.doc, grant_id=grant)
        except NotFound:
            return False
        assert b"".join(opened.chunks) == REPORT_TEXT
        return True

    def inbox(self) -> list[str]:
        return [item.grant.id for item in partner_view.partner_inbox(self.vault, self.official())]

    def revoked_at(self, grant_id: str) -> object:
        with self.vault.db.session() as session:
            grant = session.get(Grant, grant_id)
            assert grant is not None
            return grant.revoked_at


def test_d9_revoking_the_board_disclosure_revokes_the_municipality_disclosure(vault: Vault) -> None:
    shared = Shared(vault)
    police = make_org(vault, OrgType.POLICE)
    to_police = disclosures.create_disclosure(
        vault, shared.worker(), _request(shared.case_id, police, "wmo-4.1.1-2-police")
    ).id
    assert shared.retrieves()
    assert shared.inbox() == [shared.to_municipality]

    disclosures.revoke_disclosure(vault, shared.worker(), shared.to_board)

    assert shared.revoked_at(shared.to_municipality) is not None
    assert shared.revoked_at(to_police) is None  # another basis: untouched
    assert not shared.retrieves()
    assert not shared.retrieves(named=True)
    assert shared.inbox() == []
    revoked = case_entries(vault, shared.case_id, AuditTag.DISCLOSURE_GRANT_REVOKED)
    assert [(e.object_id, e.rule, e.actor_id) for e in revoked] == [
        (shared.to_board, None, shared.worker_id),
        (shared.to_municipality, "d9-rvdk-not-asked", shared.worker_id),
    ]
    assert "board-no-longer-asked" in revoked[1].details
    assert MUNICIPALITY not in revoked[1].details  # ids and codes only
    # Revoking again changes nothing and records nothing more.
    disclosures.revoke_disclosure(vault, shared.worker(), shared.to_board)
    assert len(case_entries(vault, shared.case_id, AuditTag.DISCLOSURE_GRANT_REVOKED)) == 2


def test_d9_the_municipality_keeps_its_disclosure_while_another_board_disclosure_is_live(
    vault: Vault,
) -> None:
    shared = Shared(vault)
    disclosures.create_disclosure(
        vault,
        shared.worker(),
        _request(shared.case_id, shared.board, BOARD_BASIS, categories=frozenset({Category.CORRESPONDENCE})),
    )
    disclosures.revoke_disclosure(vault, shared.worker(), shared.to_board)
    assert shared.revoked_at(shared.to_municipality) is None
    assert shared.retrieves()
    assert shared.inbox() == [shared.to_municipality]


def test_d9_the_municipality_keeps_its_disclosure_while_triage_requests_the_board(vault: Vault) -> None:
    shared = Shared(vault)
    triage.record_triage_outcome(
        vault,
        shared.worker(),
        shared.case_id,
        TriageOutcome.REQUEST_CHILD_PROTECTION_BOARD,
        partner_org_id=shared.board,
        contact_name="Sanne de Vries",
        contact_phone="030 123 45 67",
    )
    with vault.db.session() as session:
        board_grants = session.scalars(
            select(Grant.id).where(Grant.case_id == shared.case_id, Grant.org_id == shared.board)
        ).all()
    for grant_id in board_grants:
        disclosures.revoke_disclosure(vault, shared.worker(), grant_id)
    assert shared.revoked_at(shared.to_municipality) is None
    assert shared.retrieves()
    assert shared.inbox() == [shared.to_municipality]


def test_d9_the_municipality_disclosure_stops_working_when_the_board_disclosure_expires(
    vault: Vault, clock: FrozenClock
) -> None:
    shared = Shared(vault, board_days=3)
    assert shared.retrieves()
    assert shared.inbox() == [shared.to_municipality]

    clock.advance(days=3, seconds=1)  # past the board's valid_until; the municipality's runs 60 days

    with vault.db.session() as session:
        municipality_grant = session.get(Grant, shared.to_municipality)
        assert municipality_grant is not None
        assert municipality_grant.valid_until - clock.now() > timedelta(days=50)
    assert not shared.retrieves()
    assert not shared.retrieves(named=True)
    assert shared.inbox() == []
    with vault.db.session() as session:
        refused = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.actor_id == shared.official_id, AuditEntry.decision == "deny")
            .order_by(AuditEntry.seq)
        ).all()
    assert [e.tag for e in refused] == [str(AuditTag.DOSSIER_ACCESS_DENIED)] * 2
    assert all(str(AuditTag.DOSSIER_DOCUMENT_READ) in e.details for e in refused)
    assert shared.to_municipality in refused[1].details  # the named grant: on the record


def test_d9_an_expired_board_disclosure_does_not_stop_other_partners(
    vault: Vault, clock: FrozenClock
) -> None:
    shared = Shared(vault, board_days=3)
    police = make_org(vault, OrgType.POLICE)
    disclosures.create_disclosure(
        vault, shared.worker(), _request(shared.case_id, police, "wmo-4.1.1-2-police")
    )
    officer = ctx_for(vault, make_user(vault, Role.PARTNER, org_id=police), Role.PARTNER, org_id=police)
    clock.advance(days=4)
    assert b"".join(read_document(vault, officer, shared.doc).chunks) == REPORT_TEXT
    with pytest.raises(NotFound):
        read_document(vault, shared.official(), shared.doc)
