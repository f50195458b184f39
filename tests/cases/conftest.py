"""Real teams, users and contexts for the case tests (FrozenClock is the only double)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.helpers import ctx_for, make_team, make_user
from vault.context import Context
from vault.domain import Role
from vault.runtime import Vault


@dataclass(frozen=True)
class Staff:
    team: str
    worker: str
    doctor: str
    leader: str
    worker2: str

    def ctx(self, vault: Vault, who: str) -> Context:
        role = {
            self.worker: Role.MEDEWERKER,
            self.worker2: Role.MEDEWERKER,
            self.doctor: Role.VERTROUWENSARTS,
            self.leader: Role.TEAMLEIDER,
        }[who]
        return ctx_for(vault, who, role)


@pytest.fixture
def staff(vault: Vault) -> Staff:
    team = make_team(vault)
    return Staff(
        team=team,
        worker=make_user(vault, Role.MEDEWERKER, teams=[team]),
        doctor=make_user(vault, Role.VERTROUWENSARTS, teams=[team]),
        leader=make_user(vault, Role.TEAMLEIDER, teams=[team]),
        worker2=make_user(vault, Role.MEDEWERKER, teams=[team]),
    )
