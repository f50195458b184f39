"""Detector 11 of the log review (D21): an administrator who set an account's credentials, after which
that account read case content.

One administrator alone can reach content (docs/security.md, "Administrator reading content"): reset
a case worker's password (the new one is shown to the administrator) and second factor, sign in as
the worker and enrol a TOTP of their own; or create an account and keep its one-time password. The
reads are then audited in the account's name. Prevention (a second person, out-of-band enrolment) is
not built; this detector makes it visible to the privacy officer.

An *episode*: an administrator (a person: an administrator account or a CLI operator ``os:<name>``;
never ``system``, the vault's own set-up and demo) created the account, reset its password, reset or
revoked its second factor, or installed a TOTP secret for it; and the account read case content
(``CONTENT_TAGS``) within ``admin_takeover_days`` of the first such action. Scored by what the
administrator set and what followed:

- ``new_account`` 0.5: a plain new account used. Every new colleague's first week looks like this,
  so it ranks below every other finding; one finding per administrator and day of the action,
  updated (not repeated) by the reviews of the days after.
- ``password_reset`` or ``factor_reset`` / ``factor_installed`` 1.0: one of the two factors.
- both factors set by the same administrator (a password reset or a new account, and a second-factor
  reset or installed secret) 3.0 instead.
- ``same_client`` +2.0: the account signed in from the client pseudonym (``auth:login:ok``'s keyed
  hash of the address) the administrator signed in from, unless more than
  ``admin_takeover_shared_client`` accounts signed in from it in the window (a proxy or NAT address).
- ``unusual_hours`` +1.0: an existing account with a pattern (reads on ``off_hours_usual_days`` days
  in the ``baseline_days`` before the action) read at a local hour that is not one of its usual ones
  (an hour with reads on ``off_hours_usual_days`` of those days).

The finding's person is the administrator: one finding per administrator and local day of their
first action (several accounts that day: one finding, with the score and reasons of the highest).
Its evidence holds the administrator's actions (and their sign-in from a shared client pseudonym),
the account's sign-ins, factor enrolment and password change, and its first reads: the account is
the actor of those entries. Reads only ids, tags, times and the client pseudonym; nothing decrypted.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, select

from vault.domain import AuditTag, Role
from vault.logcontrole.detectors import MAX_EVIDENCE, Candidate, Detector
from vault.logcontrole.scan import CONTENT_TAGS, TimeCache
from vault.logcontrole.settings import ReviewSettings
from vault.models import AuditEntry, User

__all__ = ["admin_takeover_candidates"]

# What an administrator does to another account's credentials: tag -> kind.
_PASSWORD: Final = "password"  # noqa: S105 - a kind of action, not a secret
_FACTOR: Final = "factor"
_CREATED: Final = "created"
_INSTALLED: Final = "installed"
_ADMIN_TAGS: Final = {
    AuditTag.ADMIN_USER_CREATED.value: _CREATED,
    AuditTag.ADMIN_USER_PASSWORD_RESET.value: _PASSWORD,
    AuditTag.AUTH_TOTP_RESET.value: _FACTOR,
    AuditTag.AUTH_PASSKEY_REVOKED.value: _FACTOR,
    AuditTag.AUTH_TOTP_ENROLLED.value: _INSTALLED,  # only when another actor installs the secret
}
_LOGIN: Final = AuditTag.AUTH_LOGIN_OK.value
# The account's own steps after the action (evidence only).
_ACCOUNT_TAGS: Final = (
    _LOGIN,
    AuditTag.AUTH_TOTP_ENROLLED.value,
    AuditTag.AUTH_TOTP_OK.value,
    AuditTag.AUTH_PASSKEY_REGISTERED.value,
    AuditTag.AUTH_PASSWORD_CHANGED.value,
)
_NOT_A_PERSON: Final = frozenset({"system"})
_OVERSEER_ROLES: Final = frozenset({Role.ADMIN.value, Role.PRIVACY_OFFICER.value})
_READS_AS_EVIDENCE: Final = 20  # the first reads of each account in the period
_CHUNK: Final = 500
_DAY: Final = 86_400


@dataclass
class _Episode:
    admin: str
    account: str
    first_t: int
    actions: list[tuple[int, int, str]] = field(default_factory=list)  # (seq, t, kind)
    created_role: str | None = None  # the role the account was created with, by this administrator

    def before(self, t: int) -> list[tuple[int, int, str]]:
        """The actions up to ``t`` (a reset after the reads does not explain them)."""
        return [a for a in self.actions if a[1] <= t]


def _epoch(moment: datetime) -> int:
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _details(text: str | None) -> dict[str, Any]:
    try:
        found = json.loads(text or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield list(ids[i : i + _CHUNK])


def _episodes(conn: Connection, since: datetime, end: datetime) -> dict[tuple[str, str], _Episode]:
    """(administrator, account) -> what the administrator set, from ``since`` to ``end``."""
    rows = conn.execute(
        select(
            AuditEntry.seq,
            AuditEntry.occurred_at,
            AuditEntry.tag,
            AuditEntry.actor_id,
            AuditEntry.object_id,
            AuditEntry.details,
        )
        .where(
            AuditEntry.tag.in_(list(_ADMIN_TAGS)),
            AuditEntry.decision == "allow",
            AuditEntry.occurred_at >= since,
            AuditEntry.occurred_at < end,
        )
        .order_by(AuditEntry.seq)
    )
    found: dict[tuple[str, str], _Episode] = {}
    for seq, at, tag, actor, object_id, details in rows:
        account = _details(details).get("user") if tag == AuditTag.AUTH_PASSKEY_REVOKED.value else object_id
        if not actor or not isinstance(account, str) or not account:
            continue
        if actor in _NOT_A_PERSON or actor == account:
            continue  # set-up and demo; a user's own enrolment
        episode = found.setdefault((actor, account), _Episode(actor, account, _epoch(at)))
        episode.actions.append((int(seq), _epoch(at), _ADMIN_TAGS[tag]))
        if tag == AuditTag.ADMIN_USER_CREATED.value:
            episode.created_role = str(_details(details).get("role"))
    return found


def _rows_of(
    conn: Connection, actors: Sequence[str], tags: Iterable[str], since: datetime, end: datetime
) -> Iterator[tuple[int, int, str, str, str | None]]:
    """``(seq, epoch, tag, actor, details)`` of allowed entries of ``actors`` with ``tags``."""
    for chunk in _chunks(actors):
        rows = conn.execute(
            select(
                AuditEntry.seq,
                AuditEntry.occurred_at,
                AuditEntry.tag,
                AuditEntry.actor_id,
                AuditEntry.details,
            )
            .where(
                AuditEntry.actor_id.in_(chunk),
                AuditEntry.tag.in_(list(tags)),
                AuditEntry.decision == "allow",
                AuditEntry.occurred_at >= since,
                AuditEntry.occurred_at < end,
            )
            .order_by(AuditEntry.seq)
        )
        for seq, at, tag, actor, details in rows:
            yield int(seq), _epoch(at), str(tag), str(actor), details


def _login_clients(conn: Connection, since: datetime, end: datetime) -> list[tuple[int, int, str, str]]:
    """``(seq, epoch, actor, client pseudonym)`` of every sign-in from ``since`` to ``end``."""
    rows = conn.execute(
        select(AuditEntry.seq, AuditEntry.occurred_at, AuditEntry.actor_id, AuditEntry.details)
        .where(
            AuditEntry.tag == _LOGIN,
            AuditEntry.decision == "allow",
            AuditEntry.occurred_at >= since,
            AuditEntry.occurred_at < end,
        )
        .order_by(AuditEntry.seq)
    )
    found = []
    for seq, at, actor, details in rows:
        client = _details(details).get("client")
        if actor and isinstance(client, str) and client:
            found.append((int(seq), _epoch(at), actor, client))
    return found


def _usual_hours(times: TimeCache, reads: list[int], before_t: int, s: ReviewSettings) -> set[int] | None:
    """The local hours an account read at on ``off_hours_usual_days`` days or more in the
    ``baseline_days`` before ``before_t``; None when it has no such pattern (too few days)."""
    days_by_hour: dict[int, set[str]] = defaultdict(set)
    days: set[str] = set()
    for t in reads:
        if before_t - s.baseline_days * _DAY <= t < before_t:
            info = times.hour(datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d %H"))
            days_by_hour[info.hour].add(info.day)
            days.add(info.day)
    if len(days) < s.off_hours_usual_days:
        return None
    return {h for h, on in days_by_hour.items() if len(on) >= s.off_hours_usual_days}


def _score(kinds: set[str], same_client: bool, unusual: bool) -> tuple[float, list[str]]:
    password = bool(kinds & {_PASSWORD, _CREATED})
    factor = bool(kinds & {_FACTOR, _INSTALLED})
    reasons = [
        code
        for kind, code in (
            (_CREATED, "new_account"),
            (_PASSWORD, "password_reset"),
            (_FACTOR, "factor_reset"),
            (_INSTALLED, "factor_installed"),
        )
        if kind in kinds
    ]
    if password and factor:
        score = 3.0
    elif kinds & {_PASSWORD, _FACTOR, _INSTALLED}:
        score = 1.0
    else:
        score = 0.5
    if same_client:
        score, reasons = score + 2.0, [*reasons, "same_client"]
    if unusual:
        score, reasons = score + 1.0, [*reasons, "unusual_hours"]
    return score, reasons


def _overseers(conn: Connection, accounts: Sequence[str], episodes: Iterable[_Episode]) -> set[str]:
    """The accounts that are (now) or were created as administrator or privacy officer."""
    found = {e.account for e in episodes if e.created_role in _OVERSEER_ROLES}
    for chunk in _chunks(accounts):
        rows = conn.execute(select(User.id).where(User.id.in_(chunk), User.role.in_(list(_OVERSEER_ROLES))))
        found.update(str(user_id) for user_id in rows.scalars())
    return found


def _uses(
    conn: Connection, accounts: Sequence[str], overseers: set[str], since: datetime, end: datetime
) -> Iterator[tuple[int, int, str]]:
    """``(seq, epoch, account)``: content reads of an account, or any allowed act of an overseer's
    (a sign-in, an administrator's action, a finding listed or judged, a log export …)."""
    for seq, t, _, actor, _ in _rows_of(
        conn, [a for a in accounts if a not in overseers], CONTENT_TAGS, since, end
    ):
        yield seq, t, actor
    for chunk in _chunks(sorted(overseers)):
        rows = conn.execute(
            select(AuditEntry.seq, AuditEntry.occurred_at, AuditEntry.actor_id)
            .where(
                AuditEntry.actor_id.in_(chunk),
                AuditEntry.decision == "allow",
                AuditEntry.occurred_at >= since,
                AuditEntry.occurred_at < end,
            )
            .order_by(AuditEntry.seq)
        )
        for row in rows:
            yield int(row.seq), _epoch(row.occurred_at), str(row.actor_id)


def _add(
    found: dict[tuple[str, str], Candidate],
    person: str,
    day: str,
    t0: int,
    scored: tuple[float, list[str]],
    evidence: list[tuple[int, int]],
) -> None:
    """One finding per person and local day: the score and reasons of the highest, evidence added."""
    key = (person, day)
    candidate = found.get(key)
    if candidate is None:
        candidate = found[key] = Candidate(Detector.ADMIN_TAKEOVER, person, "", day, t0, t0)
    if scored[0] > candidate.score:  # several accounts on one day: the reasons of the highest score
        candidate.score, candidate.reason = scored[0], "+".join(scored[1])
    for seq, t in evidence:
        if len(candidate.seqs) < MAX_EVIDENCE and seq not in candidate.seqs:
            candidate.seqs.append(seq)
        candidate.first_t, candidate.last_t = min(candidate.first_t, t), max(candidate.last_t, t)


def admin_takeover_candidates(
    conn: Connection, settings: ReviewSettings, start: datetime, end: datetime
) -> list[Candidate]:
    """The findings of detector 11 for uses with ``start <= occurred_at < end`` (see the module)."""
    s = settings
    window = timedelta(days=s.admin_takeover_days)
    episodes = _episodes(conn, start - window, end)
    if not episodes:
        return []
    accounts = sorted({e.account for e in episodes.values()})
    overseers = _overseers(conn, accounts, episodes.values())
    start_t, end_t = _epoch(start), _epoch(end)
    earliest = min(e.first_t for e in episodes.values())
    history_from = datetime.fromtimestamp(earliest, tz=UTC) - timedelta(days=s.baseline_days)
    reads: dict[str, list[tuple[int, int]]] = defaultdict(list)  # account -> (seq, t), the period
    history: dict[str, list[int]] = defaultdict(list)  # account -> t of every use before the period
    for seq, t, actor in _uses(conn, accounts, overseers, history_from, end):
        if t >= start_t:
            reads[actor].append((seq, t))
        else:
            history[actor].append(t)
    steps: dict[str, list[tuple[int, int]]] = defaultdict(list)
    since = datetime.fromtimestamp(earliest, tz=UTC)
    for seq, t, _, actor, _ in _rows_of(conn, accounts, _ACCOUNT_TAGS, since, end):
        steps[actor].append((seq, t))
    logins: dict[str, list[tuple[int, int, str]]] = defaultdict(list)  # actor -> (seq, t, client)
    users_of: dict[str, set[str]] = defaultdict(set)  # client pseudonym -> who signed in from it
    for seq, t, actor, client in _login_clients(conn, since - timedelta(days=1), end):
        logins[actor].append((seq, t, client))
        users_of[client].add(actor)
    upstream: dict[str, list[_Episode]] = defaultdict(list)  # account -> who set its credentials
    for e in episodes.values():
        upstream[e.account].append(e)

    times = TimeCache()
    found: dict[tuple[str, str], Candidate] = {}
    for episode in sorted(episodes.values(), key=lambda e: e.first_t):
        t0, until = episode.first_t, episode.first_t + s.admin_takeover_days * _DAY
        used = [(seq, t) for seq, t in reads.get(episode.account, []) if t0 <= t < min(until, end_t)]
        if not used:
            continue
        last_read = used[-1][1]
        admin_logins = [(seq, c) for seq, t, c in logins[episode.admin] if t0 - _DAY <= t <= last_read]
        account_clients = {c for _, t, c in logins[episode.account] if t0 <= t <= last_read}
        shared = {c for _, c in admin_logins} & account_clients
        same_client = any(len(users_of[c]) <= s.admin_takeover_shared_client for c in shared)
        usual = _usual_hours(times, history.get(episode.account, []), t0, s)
        unusual = usual is not None and any(
            times.hour(datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d %H")).hour not in usual
            for _, t in used
        )
        actions = episode.before(last_read)
        score, reasons = _score({kind for _, _, kind in actions}, same_client, unusual)
        if episode.account in overseers:  # the overseers' own account: at least "both factors"
            score, reasons = max(score, 3.0), [*reasons, "overseer_account"]
        day = TimeCache.local_day(datetime.fromtimestamp(t0, tz=UTC)).isoformat()
        # The administrator's part first (the cap of MAX_EVIDENCE keeps it when accounts are many).
        evidence = [
            *((seq, t) for seq, t, _ in actions),
            *((seq, t0) for seq, c in admin_logins if c in shared),
            *((seq, t) for seq, t in steps.get(episode.account, []) if t0 <= t <= last_read),
            *used[:_READS_AS_EVIDENCE],
        ]
        _add(found, episode.admin, day, t0, (score, reasons), evidence)
        # Chained: the administrator's own account was taken over (its credentials set by another
        # person within the window): name that person too, with this episode's score.
        for up in upstream.get(episode.admin, []):
            if up.admin != episode.account and up.first_t <= t0 < up.first_t + s.admin_takeover_days * _DAY:
                chained = [(seq, t) for seq, t, _ in up.before(t0)]
                _add(found, up.admin, day, t0, (score, [*reasons, "chained"]), chained + evidence)
    return list(found.values())
