"""A small world for the web tests: two teams, a partner organisation, real accounts with TOTP, a report
with subjects and two documents, and one disclosure of the safety conditions to the partner."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pyotp
from fastapi.testclient import TestClient

from vault.auth import AuthConfig
from vault.context import Context, FrozenClock
from vault.domain import Category, OrgType, Role
from vault.runtime import Vault
from vault.services import accounts, disclosures
from vault.services.cases import open_report
from vault.services.documents import upload_document
from vault.services.subjects import PersonFields, Relation, ReporterFields
from vault.transaction import transaction

PASSWORD = "correct horse battery staple"
TEAM = "Team Noord"
OTHER_TEAM = "Team Zuid"
PARTNER_ORG = "Lokaal team Noord"
CANARY_CHILD = "Kanarie Kind Jansen"
GRANTED_TEXT = b"Veiligheidsvoorwaarden: moeder en kind slapen bij oma.\n"
WITHHELD_TEXT = b"Gespreksverslag met de school.\n"


@dataclass(frozen=True)
class Person:
    username: str
    user_id: str
    secret: str
    role: Role
    org_id: str | None = None

    def code(self, clock: FrozenClock) -> str:
        return str(pyotp.TOTP(self.secret).at(clock.now()))


@dataclass(frozen=True)
class World:
    worker: Person
    outsider: Person
    partner: Person
    officer: Person
    case_id: str
    granted_doc: str
    withheld_doc: str
    grant_id: str
    org_id: str


def _person(
    vault: Vault, username: str, role: Role, *, team: str | None = None, org: str | None = None
) -> Person:
    ctx = Context.system(access_point="test", clock=vault.clock)
    auth = AuthConfig.from_vault(vault)
    secret = pyotp.random_base32()
    with transaction(vault.db) as session:
        created = accounts.create_user(
            session, ctx, auth, username=username, role=str(role), team=team, org=org, password=PASSWORD
        )
        accounts.install_totp_secret(session, ctx, auth, created.user_id, secret)
        from vault.models import User

        org_id = session.get(User, created.user_id).org_id  # type: ignore[union-attr]
    return Person(username, created.user_id, secret, role, org_id)


def _ctx(vault: Vault, person: Person) -> Context:
    return Context(
        actor_id=person.user_id,
        role=str(person.role),
        org_id=person.org_id,
        access_point="test",
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )


def build_world(vault: Vault) -> World:
    system = Context.system(access_point="test", clock=vault.clock)
    with transaction(vault.db) as session:
        team = accounts.create_team(session, system, TEAM)
        accounts.create_team(session, system, OTHER_TEAM)
        org = accounts.create_organisation(session, system, PARTNER_ORG, str(OrgType.LOCAL_TEAM))
        team_id, org_id = team.id, org.id
    worker = _person(vault, "marieke", Role.MEDEWERKER, team=TEAM)
    outsider = _person(vault, "joost", Role.MEDEWERKER, team=OTHER_TEAM)
    partner = _person(vault, "lokaalteam", Role.PARTNER, org=PARTNER_ORG)
    officer = _person(vault, "fg", Role.PRIVACY_OFFICER)
    ctx = _ctx(vault, worker)
    with vault.db.session() as session:
        case_id = open_report(
            session,
            vault,
            ctx,
            team_id=team_id,
            reporter=ReporterFields(name="Kanarie Melder", professional=False),
            # D13: a minor (born 2016), for whom a legal representative asks
            subjects=[(Relation.CHILD, PersonFields(name=CANARY_CHILD, date_of_birth=date(2016, 3, 1)))],
        ).id

    def put(category: Category, title: str, data: bytes) -> str:
        return upload_document(
            vault,
            ctx,
            case_id=case_id,
            category=category,
            title=title,
            filename=f"{title.lower()}.txt",
            content_type="text/plain",
            chunks=[data],
        ).document_id

    granted = put(Category.SAFETY_CONDITIONS, "Veiligheidsvoorwaarden", GRANTED_TEXT)
    withheld = put(Category.REPORT, "Gespreksverslag", WITHHELD_TEXT)
    grant = disclosures.create_disclosure(
        vault,
        ctx,
        disclosures.DisclosureRequest(
            contact_name="Marieke de Vries",  # D23
            contact_phone="030 123 45 67",
            case_id=case_id,
            org_id=org_id,
            purpose="warme overdracht",
            legal_basis="wmo-4.1.1-2-help",
            categories=frozenset({Category.SAFETY_CONDITIONS}),
        ),
    )
    return World(worker, outsider, partner, officer, case_id, granted, withheld, grant.id, org_id)


_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def web_login(client: TestClient, person: Person, clock: FrozenClock) -> None:
    """Log in through the web forms (password, then TOTP); the client keeps the session cookie."""
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": person.username, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get("/tweede-factor")
    r = client.post(
        "/tweede-factor",
        data={"code": person.code(clock), "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    clock.advance(seconds=30)  # the next code of this account is a new one
