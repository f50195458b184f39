"""Thresholds of the detectors (D21). Defaults below; each can be set in the environment as
``VAULT_LOGCONTROLE_<FIELD>`` (upper case), e.g. ``VAULT_LOGCONTROLE_SPIKE_READERS=10``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from vault.errors import InvalidInput

__all__ = ["ReviewSettings"]


@dataclass(frozen=True)
class ReviewSettings:
    # 3. protected: a case whose protection was lifted less than this many days before a read counts
    # as protected for that read (lifting it first does not hide the read)
    protected_lift_days: int = 30
    # 4. spike: at least this many distinct readers of one case within the window
    spike_readers: int = 6
    spike_window_minutes: int = 60
    # 5. volume: a day's reads above factor x the person's own median day and the team's median
    volume_factor: float = 4.0
    volume_min_reads: int = 80
    volume_min_history_days: int = 5
    # ... or distinct cases in one hour above factor x the person's busy hour (90th percentile) and peers'
    volume_min_cases_hour: int = 25
    # 6. off hours: the organisation's hours (local time, [start, end)) and a person's usual hours
    office_start_hour: int = 7
    office_end_hour: int = 19
    # An hour is usual for a person when, in the baseline_days before the judged day (never that day
    # itself), it holds >= 2 % of their reads and had reads on at least off_hours_usual_days days.
    off_hours_usual_share: float = 0.02
    off_hours_usual_days: int = 3
    off_hours_min_reads: int = 3
    off_hours_min_history: int = 200  # reads needed before a person's own pattern counts
    # 7. curiosity lookups / 8. break-the-glass: work on a matching case within this many hours
    work_window_hours: int = 24
    # 8. break-the-glass: a justification shorter than this is "short"
    break_glass_short_chars: int = 40
    # 9. probing: denials on one case (chained, see probing.py), or on this many distinct cases in one
    # local day or one span from noon to noon (a burst over midnight)
    probe_denials_one_case: int = 3
    probe_denied_cases: int = 4
    # 10. after closure: a case closed at least this many days ago
    closed_days: int = 180
    # 11. administrator takeover: reads by an account within this many days of an administrator
    # setting its credentials (created, password or second factor reset)
    admin_takeover_days: int = 7
    # ... a client pseudonym from which more accounts than this signed in is shared (proxy, NAT)
    admin_takeover_shared_client: int = 3
    # how many days before the period feed the baselines (5: and the period itself; 6: before each day)
    baseline_days: int = 28

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ReviewSettings:
        env = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"VAULT_LOGCONTROLE_{f.name.upper()}")
            if raw is None:
                continue
            try:
                value: Any = float(raw) if f.type == "float" else int(raw)
            except ValueError:
                raise InvalidInput(f"VAULT_LOGCONTROLE_{f.name.upper()} must be a number") from None
            if value < 0:
                raise InvalidInput(f"VAULT_LOGCONTROLE_{f.name.upper()} must not be negative")
            changes[f.name] = value
        return replace(cls(), **changes)
