"""D8 (AVG 5(1)(c),(e)): the public form's rate and replay rows — a keyed hash of the sender's address
and the moment of a submission, which lies beside the case it opened — go once their hour is over,
also when nobody submits after them: the server deletes them every few minutes
(``intake.IntakeForgetting``), not only the next submission.

Real database and app; the clock is the only double.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from vault.app import create_app
from vault.context import FrozenClock
from vault.models import AuthAttempt
from vault.runtime import Vault
from vault.services import intake


def _row(vault: Vault, kind: str, age: timedelta) -> str:
    row_id = str(uuid.uuid4())
    with vault.db.session() as session:
        session.add(
            AuthAttempt(id=row_id, kind=kind, client_key="k" * 64, occurred_at=vault.clock.now() - age)
        )
        session.commit()
    return row_id


def _left(vault: Vault) -> set[str]:
    with vault.db.session() as session:
        return set(session.scalars(select(AuthAttempt.id)))


def test_d8_the_forms_rows_go_after_their_hour_and_nothing_else(vault: Vault, clock: FrozenClock) -> None:
    old_submission = _row(vault, "intake", timedelta(hours=1, minutes=1))
    old_challenge = _row(vault, "intake_pow", timedelta(hours=3))
    recent_submission = _row(vault, "intake", timedelta(minutes=59))
    old_login = _row(vault, "password", timedelta(hours=3))  # the login limits keep their own rows

    assert intake.forget_old_attempts(vault) == 2
    assert _left(vault) == {recent_submission, old_login}
    assert {old_submission, old_challenge}.isdisjoint(_left(vault))

    clock.advance(minutes=2)
    assert intake.IntakeForgetting(vault).run_once() == 1
    assert _left(vault) == {old_login}


def test_d8_the_server_forgets_while_it_runs_and_stops_with_it(vault: Vault) -> None:
    def running() -> bool:
        return any(
            t.name == intake.IntakeForgetting.thread_name and t.is_alive() for t in threading.enumerate()
        )

    assert not running()
    with TestClient(create_app(vault)):
        assert running()
    assert not running()
