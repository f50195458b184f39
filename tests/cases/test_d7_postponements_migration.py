"""D7: migration 0035 keeps the postponement an existing database already holds.

A moment postponed before the revision has its first due date, its current one and the last reason on
its own row; the upgrade turns that into one ``monitoring_postponements`` row, so the case page goes on
showing it. The case is made with the services at head, the table dropped by going back to 0034 (what a
database before this revision looks like), then upgraded again.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.services.test_s18_review_casework import monitored_case
from vault import migrate
from vault.models import MonitoringPostponement
from vault.runtime import Vault
from vault.services import triage
from vault.services.case_view import view_case


def test_d7_the_upgrade_to_0035_keeps_a_postponement_made_before_it(vault: Vault) -> None:
    worker, case_id, check_id, due = monitored_case(vault)
    reason = triage.PostponeReason.FAMILY_UNREACHABLE
    later = due + timedelta(days=30)
    triage.postpone_monitoring(vault, worker, case_id, check_id, until=later, reason=reason)

    migrate.downgrade(vault.db.engine, "0034")
    migrate.upgrade(vault.db.engine)

    with vault.db.session() as session:
        rows = session.scalars(select(MonitoringPostponement)).all()
    assert [(r.check_id, r.case_id, r.due_before, r.due_after, r.reason, r.postponed_by) for r in rows] == [
        (check_id, case_id, due, due + timedelta(days=30), str(reason), worker.actor_id)
    ]
    (moment,) = [m for m in view_case(vault, worker, case_id).monitoring if m.monitoring_id == check_id]
    assert moment.postponements == ((due, due + timedelta(days=30), str(reason)),)
