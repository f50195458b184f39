"""Logcontrole (D21): recall, false positives and speed of the log review; last line one JSON object.

A synthetic organisation on SQLite: 300 staff in 30 teams (a team leader and nine workers each; some
workers on night shifts), 6,000 cases, ``--entries`` audit entries (default 1,000,000) over 90 days,
bulk-inserted with correct chain hashes. Ordinary noise: each person's own rate and hours, team
leaders reading many cases, night shifts, emergency weekends (a whole team working on a Saturday),
lookups followed by work, the odd denial, reads of recently closed cases. Seeded: at least 20 cases
of each detector's pattern, each with the key (person / case / day) the finding must carry.

Keys: ``recall`` (share of seeded cases found), ``recall_by_detector``, ``benign_flagged_share``
(staff-days with reads and no seeded pattern that got any finding), ``full_review_s`` (all 90 days),
``increment_review_s`` (the last day, with its 28-day baseline), ``bare_scan_s`` (the same rows as
the full review read without any detector work) and ``ratio`` (full review / bare scan).

Usage: ``.venv/bin/python bench/log_review.py [--entries N]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from vault.audit.chain import canonical_bytes
from vault.audit.queries import read_snapshot
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.logcontrole.engine import run_review
from vault.logcontrole.scan import iter_review_batches, seq_bounds
from vault.logcontrole.settings import ReviewSettings
from vault.models import (
    BreakGlassAccess,
    BreakGlassAccessEntry,
    Case,
    CaseWorkflow,
    StaffIndex,
    Subject,
    Team,
    TeamMembership,
    User,
)
from vault.services.calendar import NL_TZ
from vault.services.setup import initialise

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
DAYS = 90
TEAMS = 30
PER_TEAM = 10
CASES_PER_TEAM = 260
NOISE_CASES = 120  # ordinary work touches these; the seeded patterns use the others
SEEDS = 22  # per detector (>= 20)
READ = "dossier:case:read"
DOC_READ = "dossier:document:read"
LOOKUP = "dossier:person:lookup"
DENIED = "dossier:access:denied"

# (time, tag, actor, role, case, decision, break-the-glass, details)
Event = tuple[float, str, str, str, str | None, str, bool, str]


@dataclass
class Person:
    id: str
    team: int
    role: str
    rate: int  # reads on a working day
    start_hour: int  # local
    hours: int


@dataclass
class Org:
    people: list[Person]
    team_cases: list[list[str]]
    owner: dict[str, str]
    closed: dict[str, date] = field(default_factory=dict)
    protected: set[str] = field(default_factory=set)
    subjects: list[dict[str, Any]] = field(default_factory=list)
    staff_indexes: list[dict[str, Any]] = field(default_factory=list)


def _hex() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


def build_org(rng: random.Random, per_day: int) -> Org:
    people: list[Person] = []
    for team in range(TEAMS):
        people.append(Person(str(uuid.uuid4()), team, "teamleider", 0, 8, 9))
        for i in range(PER_TEAM - 1):
            night = i == 0 and team % 3 == 0
            start = 22 if night else rng.choice((7, 8, 8, 9, 10))
            people.append(Person(str(uuid.uuid4()), team, "medewerker", 0, start, 8))
    workers = len(people)
    for p in people:
        weight = 5.0 if p.role == "teamleider" else rng.uniform(0.6, 1.4)
        p.rate = max(5, int(per_day / (workers + 4 * TEAMS) * weight / 0.66))  # weekends, days off
    team_cases = [[str(uuid.uuid4()) for _ in range(CASES_PER_TEAM)] for _ in range(TEAMS)]
    owner: dict[str, str] = {}
    for team, cases in enumerate(team_cases):
        staff = [p.id for p in people if p.team == team and p.role == "medewerker"]
        for c in cases:
            owner[c] = rng.choice(staff)
    return Org(people, team_cases, owner)


def _local(day: date, hour: float) -> float:
    base = datetime(day.year, day.month, day.day, tzinfo=NL_TZ)
    return (base + timedelta(hours=hour)).timestamp()


def noise_day(rng: random.Random, org: Org, day: date, emergency_team: int | None) -> list[Event]:
    events: list[Event] = []
    weekend = day.weekday() >= 5
    for p in org.people:
        if weekend and p.team != emergency_team and not (p.start_hour >= 20 and rng.random() < 0.5):
            continue
        if rng.random() < 0.08:  # a day off
            continue
        rate = p.rate * (1.5 if weekend and p.team == emergency_team else 1.0)
        n = max(1, int(rng.gauss(rate, rate * 0.15)))
        cases = org.team_cases[p.team][:NOISE_CASES]
        mine = [c for c in cases[:60] if org.owner[c] == p.id] or cases[:5]
        start = float(p.start_hour)
        for _ in range(n):
            case = rng.choice(mine) if rng.random() < 0.7 and p.role != "teamleider" else rng.choice(cases)
            if case in org.protected and org.owner[case] != p.id:
                case = mine[0]
            t = _local(day, start + rng.random() * p.hours)
            events.append((t, rng.choice((READ, DOC_READ)), p.id, p.role, case, "allow", False, "{}"))
        if rng.random() < 0.05:  # a lookup, followed by work on the match
            case = rng.choice(mine)
            t = _local(day, start + 1)
            events.append((t, LOOKUP, p.id, p.role, None, "allow", False, _lookup_details(case)))
            events.append((t + 1800, READ, p.id, p.role, case, "allow", False, "{}"))
        if rng.random() < 0.04:  # the odd denial
            other = org.team_cases[(p.team + 1) % TEAMS][0]
            events.append((_local(day, start + 2), DENIED, p.id, p.role, other, "deny", False, "{}"))
    return events


def _lookup_details(case: str) -> str:
    return json.dumps({"by": "bsn", "cases": case, "matches": 1}, sort_keys=True, separators=(",", ":"))


Seed = tuple[str, str, str, str]  # detector, actor, case, day


def seed(rng: random.Random, org: Org, days: list[date]) -> tuple[dict[date, list[Event]], list[Seed]]:
    """The seeded patterns; returns the extra events per day and the keys the findings must carry."""
    extra: dict[date, list[Event]] = defaultdict(list)
    seeds: list[Seed] = []
    workers = [p for p in org.people if p.role == "medewerker" and p.start_hour < 20]
    late = days[30:-2]

    def pick() -> tuple[Person, date]:
        return rng.choice(workers), rng.choice(late)

    def at_noon(day: date) -> float:
        return _local(day, 12 + rng.random())

    for i in range(SEEDS):
        # 1. own circle: a declared relation is a subject of a case the person reads
        p, day = pick()
        case = org.team_cases[p.team][120 + i]
        value = _hex()
        org.staff_indexes.append({"user_id": p.id, "kind": "relation_bsn", "value": value})
        org.subjects.append({"case_id": case, "bsn_index": value})
        extra[day].append((at_noon(day), READ, p.id, p.role, case, "allow", False, "{}"))
        seeds.append(("own_circle", p.id, case, day.isoformat()))
        # 2. colleague: a staff member is a subject; a colleague (not the owner) reads the case
        subject_person, (p, day) = rng.choice(workers), pick()
        case = org.team_cases[p.team][142 + i]
        value = _hex()
        org.staff_indexes.append({"user_id": subject_person.id, "kind": "self_bsn", "value": value})
        org.subjects.append({"case_id": case, "bsn_index": value})
        if org.owner[case] == p.id:
            org.owner[case] = org.people[p.team * PER_TEAM].id  # the team leader owns it
        extra[day].append((at_noon(day), READ, p.id, p.role, case, "allow", False, "{}"))
        seeds.append(("colleague", p.id, case, day.isoformat()))
        # 3. protected: read by someone not assigned
        p, day = pick()
        case = org.team_cases[(p.team + 2) % TEAMS][164 + i]
        org.protected.add(case)
        extra[day].append((at_noon(day), READ, p.id, p.role, case, "allow", False, "{}"))
        seeds.append(("protected", p.id, case, day.isoformat()))
        # 4. spike: eight distinct readers within half an hour
        day = rng.choice(late)
        case = org.team_cases[rng.randrange(TEAMS)][186 + i % 10]
        t0 = at_noon(day)
        for reader in rng.sample(workers, 8):
            extra[day].append(
                (t0 + rng.random() * 1800, READ, reader.id, reader.role, case, "allow", False, "{}")
            )
        seeds.append(("spike", "", case, day.isoformat()))
        # 5. volume: six times the person's usual day
        p, day = pick()
        for _ in range(max(p.rate * 6, 120)):
            c = rng.choice(org.team_cases[p.team][:NOISE_CASES])
            extra[day].append(
                (_local(day, 9 + rng.random() * 8), READ, p.id, p.role, c, "allow", False, "{}")
            )
        seeds.append(("volume", p.id, "", day.isoformat()))
        # 6. off hours: a day worker reading at three in the night
        p, day = pick()
        for k in range(4):
            c = org.team_cases[p.team][k]
            extra[day].append((_local(day, 3 + k * 0.1), READ, p.id, p.role, c, "allow", False, "{}"))
        seeds.append(("off_hours", p.id, "", day.isoformat()))
        # 7. curiosity lookup: only another team's case, no work follows
        p, day = pick()
        other = org.team_cases[(p.team + 5) % TEAMS][241]
        extra[day].append((at_noon(day), LOOKUP, p.id, p.role, None, "allow", False, _lookup_details(other)))
        seeds.append(("lookup", p.id, "", day.isoformat()))
        # 8. break-the-glass
        p, day = pick()
        case = org.team_cases[(p.team + 7) % TEAMS][196 + i]
        extra[day].append((at_noon(day), READ, p.id, p.role, case, "allow", True, "{}"))
        seeds.append(("break_glass", p.id, case, day.isoformat()))
        # 9. probing: four denials on one case
        p, day = pick()
        case = org.team_cases[(p.team + 3) % TEAMS][240]
        for k in range(4):
            extra[day].append((at_noon(day) + k * 60, DENIED, p.id, p.role, case, "deny", False, "{}"))
        seeds.append(("probing", p.id, case, day.isoformat()))
        # 10. after closure: a case closed a year ago, read without an open request
        p, day = pick()
        case = org.team_cases[p.team][218 + i]
        org.closed[case] = day - timedelta(days=365)
        extra[day].append((at_noon(day), READ, p.id, p.role, case, "allow", False, "{}"))
        seeds.append(("after_closure", p.id, case, day.isoformat()))
    # noise: reads of recently closed cases and protected cases read by their owner
    for team, cases in enumerate(org.team_cases):
        for c in cases[10:14]:
            org.closed.setdefault(c, START.date() - timedelta(days=30))
        org.protected.add(cases[20])
        org.owner[cases[20]] = org.people[team * PER_TEAM + 1].id
    return extra, seeds


def write_reference(vault: Any, org: Org) -> None:
    now = START - timedelta(days=400)
    far = START + timedelta(days=4000)
    with vault.db.session() as session:
        session.execute(
            insert(Team), [{"id": f"team-{t}", "name": f"team-{t}", "created_at": now} for t in range(TEAMS)]
        )
        session.execute(
            insert(User),
            [
                {
                    "id": p.id,
                    "username": f"u{n}",
                    "role": p.role,
                    "password_hash": "x",
                    "disabled": False,
                    "created_at": now,
                }
                for n, p in enumerate(org.people)
            ],
        )
        session.execute(
            insert(TeamMembership), [{"user_id": p.id, "team_id": f"team-{p.team}"} for p in org.people]
        )
        rows = []
        for team, cases in enumerate(org.team_cases):
            for c in cases:
                rows.append(
                    {
                        "id": c,
                        "kind": "report",
                        "team_id": f"team-{team}",
                        "owner_id": org.owner[c],
                        "legal_basis": "wmo-2015-4.1.1",
                        "created_at": now,
                        "last_changed_at": now,
                        "destroy_after": far,
                        "protected": c in org.protected,
                    }
                )
        session.execute(insert(Case), rows)
        session.execute(
            insert(CaseWorkflow),
            [
                {"case_id": c, "received_at": now, "investigation_ended_on": org.closed.get(c)}
                for c in org.owner
            ],
        )
        session.execute(
            insert(Subject),
            [
                {"id": str(uuid.uuid4()), "relation": "parent", "created_at": now, **row}
                for row in org.subjects
            ],
        )
        session.execute(insert(StaffIndex), [{**row, "created_at": now} for row in org.staff_indexes])


INSERT = (
    "INSERT INTO audit_entries (seq, occurred_at, tag, actor_id, actor_role, actor_org_id, on_behalf_of, "
    "access_point, request_id, case_id, object_type, object_id, legal_basis, purpose, decision, rule, "
    "break_glass, details, prev_hash, entry_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def write_log(db_path: Path, days: list[list[Event]]) -> list[tuple[int, str, str, float]]:
    """Insert every day's events in time order with correct chain hashes; the break-glass entries."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    head = conn.execute("SELECT seq, entry_hash FROM audit_entries ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (head[0], head[1]) if head else (0, "0" * 64)
    glass: list[tuple[int, str, str, float]] = []
    conn.execute("BEGIN")
    for events in days:
        events.sort(key=lambda e: e[0])
        batch = []
        for t, tag, actor, role, case, decision, bg, details in events:
            seq += 1
            when = datetime.fromtimestamp(t, tz=UTC)
            fields = {
                "seq": seq,
                "occurred_at": when,
                "tag": tag,
                "actor_id": actor,
                "actor_role": role,
                "actor_org_id": None,
                "on_behalf_of": None,
                "access_point": "web",
                "request_id": f"{seq:032x}",
                "case_id": case,
                "object_type": "case" if case else "person",
                "object_id": case,
                "legal_basis": None,
                "purpose": None,
                "decision": decision,
                "rule": None,
                "break_glass": bg,
                "details": details,
                "prev_hash": prev,
            }
            h = hashlib.sha256(canonical_bytes(fields)).hexdigest()
            stored = when.strftime("%Y-%m-%d %H:%M:%S.%f")
            row = (seq, stored, tag, actor, role, None, None, "web", f"{seq:032x}", case)
            batch.append(
                (*row, fields["object_type"], case, None, None, decision, None, int(bg), details, prev, h)
            )
            if bg and case:
                glass.append((seq, actor, case, t))
            prev = h
        conn.executemany(INSERT, batch)
    conn.execute("COMMIT")
    conn.close()
    return glass


def write_glass(vault: Any, glass: list[tuple[int, str, str, float]], rng: random.Random) -> None:
    with vault.db.session() as session:
        rows, entries = [], []
        for seq, actor, case, t in glass:
            rows.append(
                {
                    "seq": seq,
                    "actor_id": actor,
                    "case_id": case,
                    "session_key": f"s-{seq}",
                    "justification_digest": rng.choice(("a" * 64, _hex())),
                    "justification_enc": bytes(29 + rng.choice((10, 80))),
                    "started_at": datetime.fromtimestamp(t, tz=UTC),
                }
            )
            entries.append({"seq": seq, "access_seq": seq})
        session.execute(insert(BreakGlassAccess), rows)
        session.execute(insert(BreakGlassAccessEntry), entries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="Build in this (new) directory and keep it.")
    args = parser.parse_args()
    entries = max(20_000, min(args.entries, 2_000_000))
    rng = random.Random(21)
    org = build_org(rng, entries // DAYS)
    days = [(START + timedelta(days=d)).date() for d in range(DAYS)]
    extra, seeds = seed(rng, org, days)
    emergency = {d: rng.randrange(TEAMS) for d in days if d.weekday() == 5 and rng.random() < 0.5}
    with tempfile.TemporaryDirectory(prefix="vault-bench-review-") as scratch:
        tmp = str(args.keep) if args.keep else scratch
        settings = Settings(home=Path(tmp) / "home", password_hashing="fast_insecure_for_tests")
        vault = initialise(settings, clock=FrozenClock(START - timedelta(days=1)))
        try:
            write_reference(vault, org)
            t = time.perf_counter()
            per_day = [noise_day(rng, org, d, emergency.get(d)) + extra.get(d, []) for d in days]
            staff_days = {(e[2], d.isoformat()) for d, evs in zip(days, per_day, strict=True) for e in evs}
            glass = write_log(Path(settings.url.database or ""), per_day)
            write_glass(vault, glass, rng)
            total = sum(len(d) for d in per_day)
            build_s = time.perf_counter() - t
            end = START + timedelta(days=DAYS)
            ctx = Context.system(access_point="bench", clock=FrozenClock(end + timedelta(days=2)))
            review_settings = ReviewSettings()
            t = time.perf_counter()
            full = run_review(vault, ctx, START, end, settings=review_settings)
            full_s = time.perf_counter() - t
            t = time.perf_counter()
            run_review(vault, ctx, end - timedelta(days=1), end, settings=review_settings)
            increment_s = time.perf_counter() - t
            t = time.perf_counter()
            scanned = 0
            with read_snapshot(vault.db) as conn:
                bounds = seq_bounds(conn, START, end + timedelta(hours=review_settings.work_window_hours))
                assert bounds is not None
                for batch in iter_review_batches(conn, *bounds):
                    scanned += len(batch)
            bare_s = time.perf_counter() - t
            with vault.db.session() as session:
                from vault.logcontrole.store import list_findings

                found = list_findings(session, limit=10_000_000)
        finally:
            vault.close()
    keys = {(f.detector, f.actor_id or "", f.case_id or "", f.day) for f in found}
    by_actor_day = {(f.detector, f.actor_id or "", f.day) for f in found}
    by_case_day = {(f.detector, f.case_id or "", f.day) for f in found}

    def hits_of(seed: Seed) -> bool:
        detector, actor, case, day = seed
        if detector == "spike":
            return (detector, case, day) in by_case_day
        if detector in ("volume", "off_hours", "lookup"):
            return (detector, actor, day) in by_actor_day
        return (detector, actor, case, day) in keys

    hits: dict[str, list[bool]] = defaultdict(list)
    for s in seeds:
        hits[s[0]].append(hits_of(s))
    seeded_days = {(a, d) for _, a, _, d in seeds if a}
    seeded_days |= {(e[2], d.isoformat()) for d, evs in extra.items() for e in evs}
    benign = staff_days - seeded_days
    flagged = {(f.actor_id, f.day) for f in found if f.actor_id}
    benign_flagged = len(benign & flagged)
    noisy: dict[str, int] = defaultdict(int)
    for f in found:
        if f.actor_id and (f.actor_id, f.day) in benign:
            noisy[f.detector] += 1
    missed = [s for s in seeds if not hits_of(s)]
    all_hits = [h for v in hits.values() for h in v]
    print(
        f"entries={total} scanned={scanned} build_s={build_s:.1f} findings={len(found)} "
        f"by_detector={full.by_detector} benign_days={len(benign)} benign_flagged={benign_flagged} "
        f"benign_by_detector={dict(noisy)} missed={missed}",
        file=sys.stderr,
    )
    result = {
        "bench": "log_review",
        "entries": total,
        "recall": round(sum(all_hits) / len(all_hits), 4),
        "recall_by_detector": {k: round(sum(v) / len(v), 4) for k, v in sorted(hits.items())},
        "benign_flagged_share": round(benign_flagged / max(len(benign), 1), 5),
        "full_review_s": round(full_s, 2),
        "increment_review_s": round(increment_s, 2),
        "bare_scan_s": round(bare_s, 2),
        "ratio": round(full_s / max(bare_s, 1e-9), 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
