"""Property-based fuzzing of the whole JSON API from its own OpenAPI schema (schemathesis).

Every operation in /openapi.json is exercised, anonymously and with a verified, freshly stepped-up
session of every role, in process against the ASGI app, on the real database of the run (SQLite or
PostgreSQL). Checks: no 5xx, every status code declared, every body and content type conforming to
the schema. Operations come from the schema itself, so routes added later are covered without
editing this file; the run asserts that it exercised exactly the schema's operations.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import ApiUser, api_user, team_id_of, upload
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import CaseKind, OrgType, Role
from vault.runtime import Vault
from vault.services.cases import open_case

pytestmark = pytest.mark.slow

TEAM = "Team Fuzz"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Bounded for CI: examples per operation, per generation mode, per caller.
# (positive, negative): an anonymous caller rarely gets past authentication, so its negative examples
# mostly probe the 401 path; a verified caller's reach validation.
EXAMPLES_ANONYMOUS = (5, 3)
EXAMPLES_PER_ROLE = (3, 2)
# Sessions are created from another client address than the fuzzed traffic, whose failed logins and
# codes would otherwise trip the per-address rate limit for the set-up logins.
SETUP_CLIENT = ("192.0.2.10", 50000)
CALLERS = ["anonymous", *[str(role) for role in Role]]


@dataclass
class Run:
    exercised: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    requests: int = 0


@dataclass(frozen=True)
class Seeded:
    """Real ids, substituted for generated ones in some examples so requests reach past the 404."""

    ids: dict[str, str]


@pytest.fixture
def app(vault: Vault) -> Iterator[FastAPI]:
    application = create_app(vault)
    with TestClient(application):
        yield application


@pytest.fixture
def setup_client(app: FastAPI) -> TestClient:
    return TestClient(app, client=SETUP_CLIENT)


@pytest.fixture
def seeded(setup_client: TestClient, vault: Vault, clock: FrozenClock) -> Seeded:
    owner = api_user(setup_client, vault, clock, Role.MEDEWERKER, team=TEAM)
    ctx = Context(
        actor_id=owner.user_id,
        role=str(Role.MEDEWERKER),
        access_point="test",
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )
    team_id = team_id_of(vault, TEAM)
    with vault.db.session() as session:
        case_id = open_case(session, vault, ctx, kind=CaseKind.REPORT, team_id=team_id).id
    document_id = upload(vault, ctx, case_id, b"fuzz target document")
    return Seeded({"case_id": case_id, "document_id": document_id})


def _session_for(caller: str, client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser | None:
    if caller == "anonymous":
        return None
    role = Role(caller)
    if role is Role.PARTNER:
        return api_user(client, vault, clock, role, org=("Lokaal team Fuzz", OrgType.LOCAL_TEAM))
    return api_user(client, vault, clock, role, team=TEAM if role.is_staff else None)


def _still_usable(client: TestClient, user: ApiUser) -> bool:
    return client.get("/api/v1/auth/sessions", headers=user.headers).status_code == 200


def _probe(
    strategy: st.SearchStrategy[schemathesis.Case],
    count: int,
    positive: bool,
    headers: dict[str, str],
    seeded: Seeded,
    run: Run,
) -> None:
    @given(case=strategy, use_real_ids=st.booleans())
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def probe(case: schemathesis.Case, use_real_ids: bool) -> None:
        if use_real_ids and positive and case.path_parameters:
            for name in case.path_parameters:
                if name in seeded.ids:
                    case.path_parameters[name] = seeded.ids[name]
        response = case.call(headers=headers)
        run.requests += 1
        case.validate_response(response, checks=CHECKS)

    probe()


def _fuzz_operation(
    operation: schemathesis.APIOperation,
    headers: dict[str, str],
    examples: tuple[int, int],
    seeded: Seeded,
    run: Run,
) -> None:
    label = operation.label
    for mode, count in zip((GenerationMode.POSITIVE, GenerationMode.NEGATIVE), examples, strict=True):
        strategy = operation.as_strategy(generation_mode=mode)
        try:
            _probe(strategy, count, mode is GenerationMode.POSITIVE, headers, seeded, run)
        except Unsatisfiable:
            # Nothing can be negated (no parameters, no body): the positive run covered it.
            pass
        except FailureGroup as exc:
            run.failures.append(f"{label} [{mode.value}]: {exc}")
        except Exception as exc:  # noqa: BLE001 - any crash of the app or client is a finding
            run.failures.append(f"{label} [{mode.value}]: {type(exc).__name__}: {exc}")
    run.exercised.add(label)


@pytest.mark.parametrize("caller", CALLERS)
def test_every_operation_answers_without_server_error_and_as_its_schema_says(
    caller: str,
    app: FastAPI,
    vault: Vault,
    clock: FrozenClock,
    setup_client: TestClient,
    seeded: Seeded,
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    declared = {
        f"{method.upper()} {path}"
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch", "head", "options"}
    }
    run = Run()
    started = time.monotonic()
    user = _session_for(caller, setup_client, vault, clock)
    for operation in operations:
        if user is not None and not _still_usable(setup_client, user):
            # A fuzzed logout, password change or session end, or failed codes that rate-limited the
            # account: the next operation gets a fresh account, verified and stepped up.
            user = _session_for(caller, setup_client, vault, clock)
        headers = user.headers if user else {}
        examples = EXAMPLES_ANONYMOUS if user is None else EXAMPLES_PER_ROLE
        _fuzz_operation(operation, headers, examples, seeded, run)
    print(
        f"{caller}: {len(operations)} operations, {run.requests} requests, {time.monotonic() - started:.1f}s"
    )
    assert run.exercised == declared, "every operation of the schema is exercised"
    assert len(declared) >= 40
    assert run.requests >= len(declared)
    assert not run.failures, "\n\n".join(run.failures)
