"""Benchmark: policy decisions, compiled matcher vs stock pycasbin, and decisions during reloads.

Engine phase: facts from in-memory indexed dicts (100,000 (user, case) assignments and 100,000
partner grants), the compiled engine against stock pycasbin on the same requests. Database phase: the
same numbers of assignments and grants in a real SQLite vault; ``vault.services.gate.decide`` reads
the facts with indexed queries and decides (``db_*`` keys). Every decision is computed afresh
(nothing cached). Last line: one JSON object (see ARCHITECTURE "Benchmarks").

    .venv/bin/python bench/policy.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vault.domain import Action, CaseKind, Category, OrgType, Role
from vault.policy import (
    Actor,
    CaseFacts,
    Decision,
    DecisionContext,
    GrantFacts,
    PolicyEngine,
    PolicyHolder,
    Target,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
N_ASSIGNMENTS = 100_000
N_GRANTS = 100_000
N_CASES = 100_000
N_TEAMS = 200
N_STAFF = 5_000
N_ORGS = 1_000
STAFF_ROLES = (Role.MEDEWERKER, Role.MEDEWERKER, Role.MEDEWERKER, Role.TEAMLEIDER, Role.VERTROUWENSARTS)
PARTNER_TYPES = (
    OrgType.LOCAL_TEAM,
    OrgType.POLICE,
    OrgType.CHILD_PROTECTION_BOARD,
    OrgType.GP,
    OrgType.SCHOOL,
)
CATEGORIES = list(Category)


@dataclass
class World:
    staff: dict[str, Actor]
    partners: dict[str, Actor]  # one partner user per organisation
    cases: dict[str, CaseFacts]
    grants: dict[str, GrantFacts]
    grants_by_org_case: dict[tuple[str, str], list[str]]


def build_world(rng: random.Random) -> World:
    staff = {}
    for n in range(N_STAFF):
        uid = f"u{n}"
        teams = frozenset({f"t{n % N_TEAMS}"} | ({f"t{(n * 7) % N_TEAMS}"} if n % 10 == 0 else set()))
        staff[uid] = Actor(uid, STAFF_ROLES[n % len(STAFF_ROLES)], teams, "vt", OrgType.VEILIG_THUIS, True)
    assigned: dict[str, set[str]] = defaultdict(set)
    for _ in range(N_ASSIGNMENTS):  # the (user, case) assignment table
        assigned[f"c{rng.randrange(N_CASES)}"].add(f"u{rng.randrange(N_STAFF)}")
    kinds = list(CaseKind)
    cases = {}
    for n in range(N_CASES):
        cid = f"c{n}"
        kind = kinds[n % len(kinds)]
        owner = f"prof{n % 3000}" if kind is CaseKind.ADVICE_PROFESSIONAL else None
        cases[cid] = CaseFacts(
            cid, kind, f"t{n % N_TEAMS}", owner, frozenset(assigned.get(cid, ())), n % 997 == 0
        )
    partners = {
        f"o{n}": Actor(
            f"p{n}", Role.PARTNER, frozenset(), f"o{n}", PARTNER_TYPES[n % len(PARTNER_TYPES)], True
        )
        for n in range(N_ORGS)
    }
    grants = {}
    by_org_case: dict[tuple[str, str], list[str]] = defaultdict(list)
    for n in range(N_GRANTS):
        gid, org, cid = f"g{n}", f"o{rng.randrange(N_ORGS)}", f"c{rng.randrange(N_CASES)}"
        start = NOW - timedelta(days=rng.randrange(0, 60))
        grants[gid] = GrantFacts(
            grant_id=gid,
            case_id=cid,
            org_id=org,
            categories=frozenset(rng.sample(CATEGORIES, 2)),
            document_ids=frozenset({f"d{rng.randrange(10**6)}"}),
            valid_from=start,
            valid_until=start + timedelta(days=rng.choice((7, 30, 90))),
            revoked=rng.random() < 0.05,
            retrievals_used=rng.randrange(0, 5),
            max_retrievals=rng.choice((3, 5, 10)),
            reporter_identity_released=rng.random() < 0.1,
        )
        by_org_case[(org, cid)].append(gid)
    return World(staff, partners, cases, grants, by_org_case)


Request = tuple[Actor, Target, Action, DecisionContext]


def staff_requests(world: World, rng: random.Random, count: int) -> list[Request]:
    out = []
    staff_ids = list(world.staff)
    for _ in range(count):
        actor = world.staff[rng.choice(staff_ids)]
        if rng.random() < 0.5:  # a case of the actor's own team; otherwise any case
            team = int(min(actor.team_ids)[1:])
            case_no = team + N_TEAMS * rng.randrange(N_CASES // N_TEAMS)
        else:
            case_no = rng.randrange(N_CASES)
        case = world.cases[f"c{case_no}"]  # indexed lookup by case id
        category = rng.choice([None, *CATEGORIES])
        glass = "Acute danger reported tonight; team unreachable." if rng.random() < 0.1 else None
        ctx = DecisionContext(now=NOW, break_glass_justification=glass)
        out.append((actor, Target(case, category, None), rng.choice((Action.READ, Action.WRITE)), ctx))
    return out


def partner_requests(world: World, rng: random.Random, count: int) -> list[Request]:
    out = []
    grant_ids = list(world.grants)
    for _ in range(count):
        grant = world.grants[rng.choice(grant_ids)]
        actor = world.partners[grant.org_id]
        case = world.cases[grant.case_id]
        # The service looks the grant up by (org, case) with an index, then asks the policy.
        found = world.grants[world.grants_by_org_case[(actor.org_id or "", case.case_id)][0]]
        category = rng.choice(sorted(found.categories)) if rng.random() < 0.7 else rng.choice(CATEGORIES)
        ctx = DecisionContext(now=NOW, grant=found)
        out.append((actor, Target(case, category, None), Action.READ, ctx))
    return out


def time_calls(fn: Callable[..., Decision], requests: list[Request]) -> list[float]:
    samples = []
    clock = time.perf_counter_ns
    for actor, target, action, ctx in requests:
        t0 = clock()
        fn(actor, target, action, ctx)
        samples.append((clock() - t0) / 1000.0)
    return samples


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def reload_run(requests: list[Request], reloads: int, threads: int) -> tuple[int, int, int]:
    holder = PolicyHolder()
    expected = [holder.current.decide(*r) for r in requests]
    stop = threading.Event()
    wrong = [0] * threads
    decided = [0] * threads
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            while not stop.is_set():
                for i, request in enumerate(requests):
                    if holder.decide(*request) != expected[i]:
                        wrong[n] += 1
                    decided[n] += 1
                    if stop.is_set():
                        break
        except BaseException as exc:  # noqa: BLE001 - count it, report it
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    done = 0
    try:
        for _ in range(reloads):
            holder.reload()
            done += 1
    finally:
        stop.set()
        for t in pool:
            t.join()
    return sum(wrong) + len(errors), done, sum(decided)


def db_phase(samples: int) -> dict[str, float]:
    """Full decisions (indexed SQL facts + compiled engine) over a database with 100k + 100k rows."""
    import tempfile
    import uuid

    from sqlalchemy import insert

    from vault.config import Settings
    from vault.context import Context, FrozenClock
    from vault.models import Case, CaseAssignment, Grant, GrantItem, Organisation, Team, TeamMembership, User
    from vault.services.gate import GateRequest, decide

    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="vault-bench-policy-") as tmp:
        from vault.services.setup import initialise

        clock = FrozenClock(NOW)
        vault = initialise(Settings(home=Path(tmp), password_hashing="fast_insecure_for_tests"), clock=clock)
        teams = [str(uuid.uuid4()) for _ in range(N_TEAMS)]
        staff = [
            (str(uuid.uuid4()), STAFF_ROLES[i % len(STAFF_ROLES)], teams[i % N_TEAMS]) for i in range(N_STAFF)
        ]
        orgs = [(str(uuid.uuid4()), PARTNER_TYPES[i % len(PARTNER_TYPES)]) for i in range(N_ORGS)]
        partners = [(str(uuid.uuid4()), org_id) for org_id, _ in orgs]
        cases = [(str(uuid.uuid4()), teams[rng.randrange(N_TEAMS)]) for _ in range(N_CASES)]
        later = NOW + timedelta(days=3650)
        with vault.db.engine.begin() as conn:
            conn.execute(
                insert(Team), [{"id": t, "name": f"t{i}", "created_at": NOW} for i, t in enumerate(teams)]
            )
            conn.execute(
                insert(Organisation),
                [
                    {"id": o, "name": f"o{i}", "org_type": str(kind), "created_at": NOW}
                    for i, (o, kind) in enumerate(orgs)
                ],
            )
            conn.execute(
                insert(User),
                [
                    {
                        "id": u,
                        "username": f"s{i}",
                        "role": str(role),
                        "org_id": None,
                        "password_hash": "-",
                        "disabled": False,
                        "created_at": NOW,
                    }
                    for i, (u, role, _t) in enumerate(staff)
                ]
                + [
                    {
                        "id": u,
                        "username": f"p{i}",
                        "role": "partner",
                        "org_id": o,
                        "password_hash": "-",
                        "disabled": False,
                        "created_at": NOW,
                    }
                    for i, (u, o) in enumerate(partners)
                ],
            )
            conn.execute(insert(TeamMembership), [{"user_id": u, "team_id": t} for u, _r, t in staff])
            conn.execute(
                insert(Case),
                [
                    {
                        "id": c,
                        "kind": "report",
                        "team_id": t,
                        "owner_id": None,
                        "legal_basis": "wmo-5.1.6",
                        "created_at": NOW,
                        "last_changed_at": NOW,
                        "destroy_after": later,
                        "destroyed_at": None,
                    }
                    for c, t in cases
                ],
            )
            pairs = {
                (staff[rng.randrange(N_STAFF)][0], cases[rng.randrange(N_CASES)][0])
                for _ in range(N_ASSIGNMENTS)
            }
            conn.execute(
                insert(CaseAssignment),
                [{"case_id": c, "user_id": u, "assigned_at": NOW, "assigned_by": None} for u, c in pairs],
            )
            grants = [
                (str(uuid.uuid4()), cases[rng.randrange(N_CASES)][0], orgs[rng.randrange(N_ORGS)][0])
                for _ in range(N_GRANTS)
            ]
            conn.execute(
                insert(Grant),
                [
                    {
                        "id": g,
                        "case_id": c,
                        "org_id": o,
                        "purpose": "overdracht",
                        "legal_basis": "wmo-4.1.1-2-help",
                        "consent_reference": None,
                        "valid_from": NOW - timedelta(days=1),
                        "valid_until": later,
                        "max_retrievals": 5,
                        "retrievals_used": 0,
                        "reporter_identity_released": False,
                        "revoked_at": None,
                        "created_at": NOW,
                        "created_by": None,
                    }
                    for g, c, o in grants
                ],
            )
            conn.execute(
                insert(GrantItem),
                [{"grant_id": g, "kind": "category", "ref": "safety_conditions"} for g, _c, _o in grants],
            )

        def timed(requests: list[tuple[Context, GateRequest]]) -> list[float]:
            out: list[float] = []
            with vault.db.session() as session:
                for ctx, req in requests:
                    t0 = time.perf_counter()
                    decide(session, vault, ctx, req)
                    out.append((time.perf_counter() - t0) * 1e6)
            return out

        def staff_ctx(u: str, role: Role) -> Context:
            return Context(
                actor_id=u, role=str(role), access_point="bench", second_factor_verified=True, clock=clock
            )

        staff_reqs = []
        for _ in range(samples):
            u, role, _t = staff[rng.randrange(N_STAFF)]
            staff_reqs.append(
                (
                    staff_ctx(u, role),
                    GateRequest(cases[rng.randrange(N_CASES)][0], Action.READ, category=Category.REPORT),
                )
            )
        partner_reqs = []
        for _ in range(samples):
            _g, c, o = grants[rng.randrange(N_GRANTS)]
            u = (
                partners[[p[1] for p in partners].index(o)][0]
                if rng.random() < 0.5
                else partners[rng.randrange(N_ORGS)][0]
            )
            partner_reqs.append(
                (
                    Context(
                        actor_id=u,
                        role="partner",
                        access_point="bench",
                        org_id=o,
                        second_factor_verified=True,
                        clock=clock,
                    ),
                    GateRequest(c, Action.READ, category=Category.SAFETY_CONDITIONS),
                )
            )
        timed(staff_reqs[:200])  # warm-up
        st, pt = timed(staff_reqs), timed(partner_reqs)
        vault.close()
    return {
        "db_staff_median_us": round(statistics.median(st), 1),
        "db_staff_p99_us": round(p99(st), 1),
        "db_partner_median_us": round(statistics.median(pt), 1),
        "db_partner_p99_us": round(p99(pt), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer samples (smoke run)")
    args = parser.parse_args()
    n_compiled, n_stock = (2_000, 200) if args.quick else (20_000, 1_500)

    rng = random.Random(20250601)
    t0 = time.perf_counter()
    world = build_world(rng)
    print(
        f"built {N_ASSIGNMENTS} assignments, {N_GRANTS} grants in {time.perf_counter() - t0:.1f}s",
        file=sys.stderr,
    )

    engine = PolicyEngine()
    staff = staff_requests(world, rng, n_compiled)
    partner = partner_requests(world, rng, n_compiled)

    # Both paths must agree before their speed means anything.
    mismatches = sum(
        engine.decide(*r) != engine.decide_stock(*r) for r in staff[:n_stock] + partner[:n_stock]
    )
    allowed_staff = sum(engine.decide(*r).allowed for r in staff) / len(staff)
    allowed_partner = sum(engine.decide(*r).allowed for r in partner) / len(partner)

    time_calls(engine.decide, staff[:1000])  # warm-up
    staff_c = time_calls(engine.decide, staff)
    partner_c = time_calls(engine.decide, partner)
    staff_s = time_calls(engine.decide_stock, staff[:n_stock])
    partner_s = time_calls(engine.decide_stock, partner[:n_stock])

    t0 = time.perf_counter()
    wrong, reloads, decided = reload_run(staff[:300] + partner[:300], reloads=100, threads=8)
    reload_s = time.perf_counter() - t0

    staff_median = statistics.median(staff_c)
    stock_median = statistics.median(staff_s)
    speedup = stock_median / staff_median
    result = {
        "bench": "policy",
        "staff_median_us": round(staff_median, 2),
        "staff_p99_us": round(p99(staff_c), 2),
        "partner_median_us": round(statistics.median(partner_c), 2),
        "partner_p99_us": round(p99(partner_c), 2),
        "baseline": round(stock_median, 2),
        "stock_median_us": round(stock_median, 2),
        "stock_p99_us": round(p99(staff_s), 2),
        "stock_partner_median_us": round(statistics.median(partner_s), 2),
        "speedup": round(speedup, 2),
        "partner_speedup": round(statistics.median(partner_s) / statistics.median(partner_c), 2),
        "ratio": round(speedup, 2),
        "path_mismatches": mismatches,
        "staff_allowed_share": round(allowed_staff, 3),
        "partner_allowed_share": round(allowed_partner, 3),
        "wrong_answers": wrong,
        "reloads": reloads,
        "decisions_during_reloads": decided,
        "reload_phase_s": round(reload_s, 2),
        "samples_compiled": len(staff_c),
        "samples_stock": len(staff_s),
    }
    t0 = time.perf_counter()
    result.update(db_phase(500 if args.quick else 3_000))
    print(f"database phase {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
