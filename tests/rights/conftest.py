"""The rights tests' people: a team, a case worker and the team leader of that team."""

from __future__ import annotations

import pytest

from tests.helpers import ctx_for, make_team, make_user
from vault.context import Context
from vault.domain import Role
from vault.runtime import Vault


@pytest.fixture
def team(vault: Vault) -> str:
    return make_team(vault)


@pytest.fixture
def worker(vault: Vault, team: str) -> Context:
    return ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)


@pytest.fixture
def leader(vault: Vault, team: str) -> Context:
    return ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[team]), Role.TEAMLEIDER)
