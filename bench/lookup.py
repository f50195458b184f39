"""Benchmark of the D19 person lookup among 100,000 subjects.

Usage: ``.venv/bin/python bench/lookup.py [--subjects N] [--lookups N]`` (SQLite in a temporary
VAULT_HOME; set ``VAULT_BENCH_DATABASE_URL`` to an empty PostgreSQL database to run there).
The last line printed is one JSON object.

Rows are bulk-inserted directly (20,000 cases with 5 subjects each): real keyed blind indexes for BSN
and name + date of birth; the sealed columns hold random bytes of a sealed field's length, since the
lookup never reads them. Each lookup goes through ``vault.services.lookup.lookup_person`` — actor
facts, HMAC, one indexed query, one audit entry, commit. ``baseline``: one transaction with a single
SELECT of a subject by primary key on the same table, same run. ``ratio`` = median / baseline median.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from vault.config import Settings
from vault.context import Context
from vault.crypto.index import blind_index_bsn, blind_index_person
from vault.crypto.keys import SubkeyPurpose
from vault.domain import CaseKind, Role
from vault.models import Case, Subject, Team, TeamMembership, User
from vault.runtime import Vault
from vault.services.lookup import lookup_person
from vault.services.setup import initialise

FIRST = ["Jan", "Anna", "Mohamed", "Sanne", "Daan", "Fatima", "Lucas", "Emma", "Noah", "Zoë", "Sem", "Julia"]
LAST = [
    "de Vries",
    "Jansen",
    "van den Berg",
    "Bakker",
    "El Amrani",
    "Visser",
    "Smit",
    "Yılmaz",
    "de Jong",
    "Bos",
]


def valid_bsn(rng: random.Random) -> str:
    while True:
        digits = [rng.randrange(10) for _ in range(8)]
        check = sum(w * d for w, d in zip(range(9, 1, -1), digits, strict=True)) % 11
        if check < 10 and any(digits):
            return "".join(map(str, digits)) + str(check)


def populate(vault: Vault, subjects: int, rng: random.Random) -> tuple[list[str], list[str], str, str]:
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    key = vault.keys.subkey(SubkeyPurpose.BLIND_INDEX)
    team_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
    with vault.db.session() as session:
        session.add(Team(id=team_id, name="Bench team", created_at=now))
        session.add(
            User(
                id=user_id,
                username="bench",
                role=str(Role.MEDEWERKER),
                password_hash="x",
                disabled=False,
                created_at=now,
            )
        )
        session.flush()
        session.add(TeamMembership(user_id=user_id, team_id=team_id))
    per_case = 5
    bsns: list[str] = []
    subject_ids: list[str] = []
    batch_cases: list[dict[str, object]] = []
    batch_subjects: list[dict[str, object]] = []

    def flush() -> None:
        with vault.db.session() as session:
            if batch_cases:
                session.execute(insert(Case), batch_cases)
            session.execute(insert(Subject), batch_subjects)
        batch_cases.clear()
        batch_subjects.clear()

    for i in range(subjects):
        if i % per_case == 0:
            case_id = str(uuid.uuid4())
            created = now - timedelta(days=rng.randrange(3650))
            batch_cases.append(
                {
                    "id": case_id,
                    "kind": str(CaseKind.REPORT),
                    "team_id": team_id,
                    "owner_id": None,
                    "legal_basis": "wmo-5.1.6",
                    "created_at": created,
                    "last_changed_at": created,
                    "destroy_after": created + timedelta(days=7305),
                    "destroyed_at": None,
                }
            )
        bsn = valid_bsn(rng)
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        dob = date(2005, 1, 1) + timedelta(days=rng.randrange(7000))
        subject_id = str(uuid.uuid4())
        bsns.append(bsn)
        subject_ids.append(subject_id)
        batch_subjects.append(
            {
                "id": subject_id,
                "case_id": case_id,
                "relation": "child",
                "name_enc": os.urandom(29 + len(name.encode())),
                "bsn_enc": os.urandom(38),
                "date_of_birth_enc": os.urandom(39),
                "address_enc": os.urandom(60),
                "bsn_index": blind_index_bsn(key, bsn),
                "person_index": blind_index_person(key, name, dob),
                "consent_id": None,
                "created_at": created,
                "created_by": user_id,
            }
        )
        if len(batch_subjects) >= 5000:
            flush()
    if batch_subjects:
        flush()
    return bsns, subject_ids, user_id, team_id


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(20260302)
    with tempfile.TemporaryDirectory(prefix="vault-bench-lookup-") as tmp:
        url = os.environ.get("VAULT_BENCH_DATABASE_URL")
        fast = "fast_insecure_for_tests"
        settings = Settings(home=Path(tmp) / "home", password_hashing=fast, database_url=url)
        vault = initialise(settings)
        try:
            start = time.perf_counter()
            bsns, subject_ids, user_id, _team = populate(vault, args.subjects, rng)
            load_s = time.perf_counter() - start
            ctx = Context(
                actor_id=user_id, role=str(Role.MEDEWERKER), access_point="bench", second_factor_verified=True
            )
            for _ in range(20):  # warm up connections and caches
                lookup_person(vault, ctx, bsn=rng.choice(bsns))
            timings: list[float] = []
            found = 0
            for _ in range(args.lookups):
                bsn = rng.choice(bsns)
                t0 = time.perf_counter()
                hits = lookup_person(vault, ctx, bsn=bsn)
                timings.append((time.perf_counter() - t0) * 1000)
                found += bool(hits)
            baseline: list[float] = []
            for _ in range(args.lookups):
                sid = rng.choice(subject_ids)
                t0 = time.perf_counter()
                with vault.db.session() as session:
                    session.execute(select(Subject.id, Subject.case_id).where(Subject.id == sid)).one()
                baseline.append((time.perf_counter() - t0) * 1000)
            backend = vault.db.url.get_backend_name()
        finally:
            vault.close()
    median = statistics.median(timings)
    base = statistics.median(baseline)
    print(
        f"loaded {args.subjects} subjects in {load_s:.1f}s on {backend}; {found}/{args.lookups} found",
        file=sys.stderr,
    )
    print(
        json.dumps(
            {
                "bench": "lookup",
                "subjects": args.subjects,
                "database": backend,
                "lookups": args.lookups,
                "median_ms": round(median, 3),
                "p99_ms": round(percentile(timings, 0.99), 3),
                "baseline": {
                    "what": "one transaction, SELECT subject by primary key",
                    "median_ms": round(base, 3),
                    "p99_ms": round(percentile(baseline, 0.99), 3),
                },
                "ratio": round(median / base, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
