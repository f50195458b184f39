"""Dates at the ends of Python's calendar (years 1 and 9999, with ±14:00 offsets): every way in — the
API, the web forms, the services the CLI calls — refuses them with a 4xx naming the field (never the
value), where before a time zone, a day added for an inclusive end or a review's look-ahead stepped
past ``date.min``/``date.max`` (OverflowError → HTTP 500). One rule decides:
``vault.services.calendar.date_problem`` (years ``EARLIEST_YEAR``..``LATEST_YEAR``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import ApiUser, api_user
from tests.robustness.conftest import TEAM
from tests.robustness.support import cli, web_login
from vault.context import Context, FrozenClock
from vault.domain import Role
from vault.errors import InvalidInput
from vault.logcontrole.engine import run_review
from vault.runtime import Vault
from vault.services.calendar import EARLIEST_YEAR, LATEST_YEAR, check_date, date_problem, local_date
from vault.services.cases import open_report
from vault.services.subjects import ReporterFields
from vault.web.fg_reports import DAY_OUT_OF_RANGE, day_start, parse_day

# Instants at (and one day inside) the ends of the calendar, in the zones furthest from UTC.
EXTREME_MOMENTS = (
    "0001-01-01T00:00:00+14:00",
    "0001-01-02T00:00:00Z",
    "9999-12-30T00:00:00Z",
    "9999-12-31T00:00:00Z",
    "9999-12-31T23:59:59-14:00",
)
EXTREME_DAYS = ("0001-01-01", "0001-01-02", "9999-12-30", "9999-12-31")
TYPED_DAYS = (
    "01-01-0001",
    "31-12-9999",
    "30-12-9999",
    "0001-01-01",
    "9999-12-31",
    "31-12-1899",
    "01-01-3000",
)


def _zone(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


# --- the rule itself -----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    offset=st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_an_accepted_time_survives_the_arithmetic_the_vault_does(moment: datetime, offset: int) -> None:
    """Whatever a client can type: refused (InvalidInput naming the field), or safe to put in UTC, in
    Amsterdam, a day or a review's 400 days and look-ahead either side."""
    aware = moment.replace(tzinfo=_zone(offset))
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        with pytest.raises(InvalidInput, match=r"^from: "):
            check_date(aware, "from")
        return
    checked = check_date(aware, "from")
    assert checked is aware
    for step in (timedelta(days=1), timedelta(days=400), timedelta(days=60)):
        (checked + step).astimezone(UTC)
        (checked - step).astimezone(UTC)
    local_date(checked)


def test_a_time_needs_a_time_zone_and_a_day_does_not() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_date(datetime(2026, 3, 2, 9, 0), "received_at")
    assert refused.value.rule == "date-needs-time-zone"
    assert date_problem(date(2026, 3, 2)) is None
    assert date_problem(date(EARLIEST_YEAR, 1, 1)) is None
    assert date_problem(date(LATEST_YEAR, 12, 31)) is None
    for day in (date.min, date.max, date(EARLIEST_YEAR - 1, 12, 31), date(LATEST_YEAR + 1, 1, 1)):
        with pytest.raises(InvalidInput) as refused:
            check_date(day, "date_of_birth")
        assert refused.value.rule == "date-out-of-range"
        assert day.isoformat() not in refused.value.message


@pytest.mark.parametrize("typed", TYPED_DAYS)
def test_parse_day_refuses_a_year_out_of_range_in_dutch(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_day(typed)
    assert refused.value.rule == "date-out-of-range"
    assert refused.value.message == DAY_OUT_OF_RANGE
    assert "jaartal" in refused.value.message


@settings(max_examples=300, deadline=None)
@given(
    day=st.integers(0, 40), month=st.integers(0, 13), year=st.integers(0, 9999), sep=st.sampled_from("-/.")
)
def test_a_parsed_day_takes_a_day_more_and_a_time_zone(day: int, month: int, year: int, sep: str) -> None:
    """Every web date field: a day ``parse_day`` accepts is safe for ``day_start`` + one day (the FG
    pages' inclusive "to") in UTC; anything else is ``InvalidInput``, never another exception."""
    typed = f"{day:02d}{sep}{month:02d}{sep}{year:04d}"
    try:
        start = day_start(typed)
    except InvalidInput:
        return
    assert start is not None
    (start + timedelta(days=1)).astimezone(UTC)
    (start - timedelta(days=1)).astimezone(UTC)


# --- the API: a 422 naming the field, never the value --------------------------------------------------


def _refused(r: httpx.Response, field: str, value: str) -> None:
    assert r.status_code == 422, (field, value, r.status_code, r.text)
    body = r.json()
    assert body["error"] == "invalid_input"
    assert field in body["detail"], body
    assert value not in r.text


@pytest.fixture
def officer(client: TestClient, vault: Vault, clock: FrozenClock) -> ApiUser:
    return api_user(client, vault, clock, Role.PRIVACY_OFFICER)


@pytest.mark.parametrize("field", ["from", "to"])
def test_api_audit_search_refuses_extreme_times(client: TestClient, officer: ApiUser, field: str) -> None:
    for value in EXTREME_MOMENTS:
        r = client.get("/api/v1/audit/entries", params={field: value}, headers=officer.headers)
        _refused(r, f"query.{field}", value)
    r = client.get("/api/v1/audit/entries", params={field: "2026-03-02T09:00:00"}, headers=officer.headers)
    assert r.status_code == 422, r.text
    assert "time zone" in r.json()["detail"]
    edge = "1900-01-01T00:00:00+14:00" if field == "from" else "2999-12-31T23:59:59-14:00"
    assert (
        client.get("/api/v1/audit/entries", params={field: edge}, headers=officer.headers).status_code == 200
    )


@pytest.mark.parametrize(
    "body_of",
    [
        lambda v: {"from": v},
        lambda v: {"to": v},
        lambda v: {"from": v, "to": v},
        lambda v: {"from": "2026-03-01T00:00:00Z", "to": v},
    ],
    ids=["from", "to", "both", "to-after-a-sane-from"],
)
def test_api_review_refuses_extreme_times(
    client: TestClient, officer: ApiUser, body_of: Callable[[str], dict[str, str]]
) -> None:
    for value in EXTREME_MOMENTS:
        body = body_of(value)
        field = "from" if body.get("from") == value else "to"
        _refused(
            client.post("/api/v1/audit/findings/review", json=body, headers=officer.headers), field, value
        )
    # The last day of the range: the default end (a day later) is refused by the same rule, no 500.
    r = client.post(
        "/api/v1/audit/findings/review", json={"from": "2999-12-31T00:00:00-14:00"}, headers=officer.headers
    )
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith("to: ")
    r = client.post(
        "/api/v1/audit/findings/review", json={"from": "1900-01-01T00:00:00+14:00"}, headers=officer.headers
    )
    assert r.status_code == 200, r.text


def test_api_report_refuses_extreme_received_at(client: TestClient, worker: ApiUser, vault: Vault) -> None:
    from tests.helpers import team_id_of

    team_id = team_id_of(vault, TEAM)
    for value in EXTREME_MOMENTS:
        r = client.post(
            "/api/v1/cases/reports",
            headers=worker.headers,
            json={"team_id": team_id, "received_at": value, "reporter": {"name": "M", "professional": False}},
        )
        _refused(r, "body.received_at", value)
    r = client.post(
        "/api/v1/cases/reports",
        headers=worker.headers,
        json={
            "team_id": team_id,
            "received_at": "2026-02-27T09:00:00+01:00",
            "reporter": {"name": "M", "professional": False},
        },
    )
    assert r.status_code == 201, r.text


def test_api_retention_refuses_extreme_until(
    client: TestClient, vault: Vault, clock: FrozenClock, case_id: str
) -> None:
    leader = api_user(client, vault, clock, Role.TEAMLEIDER, team=TEAM)
    for value in EXTREME_MOMENTS:
        r = client.post(
            f"/api/v1/cases/{case_id}/retention",
            json={"until": value, "reason": "legal_proceedings"},
            headers=leader.headers,
        )
        _refused(r, "body.until", value)


def test_api_day_fields_refuse_extreme_days(client: TestClient, worker: ApiUser, case_id: str) -> None:
    h = worker.headers
    r = client.post(f"/api/v1/cases/{case_id}/subjects", headers=h, json={"relation": "child", "name": "K"})
    assert r.status_code == 201, r.text
    subject_id = r.json()["id"]
    assert client.post(
        f"/api/v1/cases/{case_id}/triage", headers=h, json={"outcome": "investigation"}
    ).is_success
    sends: dict[str, list[tuple[str, str, Callable[[str], dict[str, Any]]]]] = {
        "date_of_birth": [
            (
                "POST",
                f"/api/v1/cases/{case_id}/subjects",
                lambda d: {"relation": "child", "name": "K", "date_of_birth": d},
            ),
            ("POST", "/api/v1/lookup", lambda d: {"name": "K", "date_of_birth": d}),
            ("PUT", "/api/v1/me/enrolment", lambda d: {"name": "K", "date_of_birth": d}),
            ("PUT", "/api/v1/me/enrolment", lambda d: {"relations": [{"name": "K", "date_of_birth": d}]}),
        ],
        "received_on": [
            ("POST", f"/api/v1/cases/{case_id}/destruction-requests", lambda d: {"received_on": d}),
            (
                "POST",
                f"/api/v1/cases/{case_id}/access-requests",
                lambda d: {"subject_id": subject_id, "received_on": d},
            ),
        ],
        "started_on": [("POST", f"/api/v1/cases/{case_id}/investigation", lambda d: {"started_on": d})],
        "ended_on": [
            (
                "POST",
                f"/api/v1/cases/{case_id}/investigation",
                lambda d: {"started_on": "2026-03-02", "ended_on": d},
            )
        ],
    }
    for field, routes in sends.items():
        for method, url, body in routes:
            for value in EXTREME_DAYS:
                _refused(client.request(method, url, json=body(value), headers=h), field, value)


# --- the services the CLI and the daily review call -----------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(9999, 12, 30, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)),
        (datetime(1, 1, 1, tzinfo=_zone(14 * 60)), datetime(1, 1, 2, tzinfo=UTC)),
        (
            datetime(9999, 12, 31, tzinfo=_zone(-14 * 60)),
            datetime(9999, 12, 31, 23, 59, 59, tzinfo=_zone(-14 * 60)),
        ),
        (datetime(1, 1, 1), datetime(1, 1, 2)),  # naive: taken as UTC, then refused by the year
    ],
)
def test_run_review_refuses_extreme_periods(vault: Vault, start: datetime, end: datetime) -> None:
    ctx = Context.system(access_point="test", clock=vault.clock)
    with pytest.raises(InvalidInput) as refused:
        run_review(vault, ctx, start, end)
    assert refused.value.rule == "date-out-of-range"


@pytest.mark.parametrize(
    "period",
    [
        ("--from", "9999-12-30T00:00:00Z", "--to", "9999-12-31T00:00:00Z"),
        ("--from", "9999-12-31T00:00:00Z"),  # the CLI's own "one day" after it
        ("--from", "0001-01-01T00:00:00+14:00"),
    ],
)
def test_cli_review_refuses_extreme_periods(vault: Vault, period: tuple[str, ...]) -> None:
    done = cli(vault, "audit", "review", "--quiet", *period)
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    assert "1900" in done.stderr
    assert "9999" not in done.stderr


def test_open_report_refuses_extreme_received_at(vault: Vault, worker: ApiUser) -> None:
    from tests.helpers import team_id_of

    team_id = team_id_of(vault, TEAM)
    ctx = Context(
        actor_id=worker.user_id,
        role=str(Role.MEDEWERKER),
        access_point="test",
        second_factor_verified=True,
        clock=vault.clock,
    )
    for received in (datetime(1, 1, 1, tzinfo=_zone(14 * 60)), datetime(1, 1, 2, tzinfo=UTC)):
        with vault.db.session() as session, pytest.raises(InvalidInput) as refused:
            open_report(
                session,
                vault,
                ctx,
                team_id=team_id,
                reporter=ReporterFields(name="M", professional=False),
                received_at=received,
            )
        assert refused.value.message.startswith("received_at: ")


# --- the privacy officer's pages: a Dutch message, the input kept -------------------------------------


@pytest.mark.parametrize("path", ["/fg/zoeken", "/fg/medewerker", "/fg/export"])
def test_fg_forms_refuse_extreme_days_in_dutch(vault: Vault, clock: FrozenClock, path: str) -> None:
    officer = web_login(vault, clock, Role.PRIVACY_OFFICER)
    for field in ("from", "to"):
        for typed in TYPED_DAYS:
            form = {"csrf_token": officer.csrf, field: typed, "medewerker": officer.username, "format": "csv"}
            r = officer.client.post(
                path,
                content=urlencode(form).encode(),
                headers={
                    "Sec-Fetch-Site": "same-origin",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                follow_redirects=False,
            )
            assert r.status_code == 400, (path, field, typed, r.status_code)
            assert r.headers["content-type"].startswith("text/html")
            assert f"jaartal {EARLIEST_YEAR} tot en met {LATEST_YEAR}" in r.text
            assert f'value="{typed}"' in r.text  # the input kept, to correct


@pytest.mark.parametrize("field", ["dob", "rel1_dob"])
def test_enrolment_form_refuses_extreme_days_in_dutch(vault: Vault, clock: FrozenClock, field: str) -> None:
    user = web_login(vault, clock, Role.MEDEWERKER, team=TEAM)
    for typed in TYPED_DAYS:
        # Complete but for the day: the name, or the relation's name beside its date of birth.
        form = {"csrf_token": user.csrf, field: typed, "name" if field == "dob" else "rel1_name": "K"}
        r = user.client.post(
            "/eigen-gegevens",
            content=urlencode(form).encode(),
            headers={"Sec-Fetch-Site": "same-origin", "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 400, (field, typed, r.status_code)
        assert f"jaartal van {EARLIEST_YEAR} tot en met {LATEST_YEAR}" in r.text
