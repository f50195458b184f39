"""The ten detectors of the log review (D21), run together in one streamed pass over the entries.

Per-detector state lives in dicts keyed by person, case or (person, day); a finding candidate is
keyed by ``(detector, person, case, local day)`` and collects the sequence numbers of its evidence.
Inputs: the entries' ids, tags, decisions and times (``vault.logcontrole.scan``), and the facts
(``vault.logcontrole.facts``: teams, case owners/assignments, protected flags, closure dates, and
blind-index matches of staff enrolment data against subjects). Nothing is decrypted. Detector 11
(``admin_takeover``) is a pass of its own over the few credential entries:
``vault.logcontrole.admin_takeover``.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from vault.domain import AuditTag
from vault.logcontrole.facts import Facts
from vault.logcontrole.probing import Probes
from vault.logcontrole.scan import CONTENT_TAGS, LOOKUP_TAG, HourInfo, ReviewRow, TimeCache
from vault.logcontrole.settings import ReviewSettings

__all__ = ["MAX_EVIDENCE", "Candidate", "Detector", "Review"]

MAX_EVIDENCE: Final = 200
_ASSIGNMENT_TAGS: Final = frozenset(
    {AuditTag.DOSSIER_CASE_ASSIGNED.value, AuditTag.DOSSIER_CASE_UNASSIGNED.value}
)
_DAY: Final = 86_400
_REIDENTIFIED: Final = AuditTag.DOSSIER_CLIENT_REIDENTIFIED.value
# Finding a case is not work on it: a lookup's or a re-identification's entry on each case it found
# neither closes an earlier lookup nor an emergency access unflagged (session 16 O7).
_NOT_WORK: Final = frozenset({LOOKUP_TAG, _REIDENTIFIED})


class Detector(StrEnum):
    OWN_CIRCLE = "own_circle"
    COLLEAGUE = "colleague"
    PROTECTED = "protected"
    SPIKE = "spike"
    VOLUME = "volume"
    OFF_HOURS = "off_hours"
    LOOKUP = "lookup"
    BREAK_GLASS = "break_glass"
    PROBING = "probing"
    AFTER_CLOSURE = "after_closure"
    ADMIN_TAKEOVER = "admin_takeover"  # its own pass: vault.logcontrole.admin_takeover


@dataclass
class Candidate:
    detector: Detector
    actor: str  # "" when the finding has no one person (a spike)
    case: str  # "" when it has no one case (volume, off hours, probing over many cases)
    day: str
    first_t: int
    last_t: int
    score: float = 0.0
    reason: str = ""
    seqs: list[int] = field(default_factory=list)

    def add(self, seq: int, t: int) -> None:
        if len(self.seqs) < MAX_EVIDENCE and (not self.seqs or self.seqs[-1] != seq):
            self.seqs.append(seq)
        self.first_t = min(self.first_t, t)
        self.last_t = max(self.last_t, t)


@dataclass
class _Lookup:
    seq: int
    t: int
    day: str
    cases: frozenset[str]
    other_teams_only: bool
    # a re-identification: one entry per matched case, consecutive seqs up to ``last_seq``
    last_seq: int | None = None


@dataclass
class _Glass:
    t: int
    worked: bool = False


def _p90(values: list[int]) -> float:
    ordered = sorted(values)
    return float(ordered[int(0.9 * (len(ordered) - 1))]) if ordered else 0.0


def _median(values: Iterable[int | float]) -> float:
    data = list(values)
    return float(statistics.median(data)) if data else 0.0


class Review:
    """Feed batches of ``ReviewRow`` in seq order, then ``finish()`` for the candidates."""

    def __init__(
        self,
        settings: ReviewSettings,
        facts: Facts,
        *,
        start_t: int,
        end_t: int,
        horizon_t: int,
        baseline: Iterable[tuple[str, str, int, int]],
        night_from_t: int | None = None,
        night_to_t: int | None = None,
    ) -> None:
        self.s = settings
        self.facts = facts
        self.start_t, self.end_t, self.horizon_t = start_t, end_t, horizon_t
        # Reads outside the period that fall in a night it shares (the night around its start or
        # end) count for off hours only: a night is judged whole, whichever period is reviewed.
        self.night_from_t = start_t if night_from_t is None else min(night_from_t, start_t)
        self.night_to_t = end_t if night_to_t is None else max(night_to_t, end_t)
        self.times = TimeCache()
        self.found: dict[tuple[Detector, str, str, str], Candidate] = {}
        self.window = settings.work_window_hours * 3600
        self.protected_window = settings.protected_lift_days * _DAY
        self._learn(baseline)
        # (actor, day) -> [reads, time of the first, seqs of the first MAX_EVIDENCE...]
        self.day_reads: dict[tuple[str, str], list[int]] = defaultdict(list)
        # (actor, the night's evening day) -> [(seq, time, local day)] of unusual night reads
        self.off: dict[tuple[str, str], list[tuple[int, int, str]]] = defaultdict(list)
        # (actor, UTC hour) -> (cases read, local day, first time, first seqs)
        self.hour_cases: dict[tuple[str, str], tuple[set[str], str, int, list[int]]] = {}
        self.probes = Probes(start_t, end_t)  # refusals on one case, chained over day boundaries (O8)
        self.spikes: dict[str, deque[tuple[int, str, int]]] = {}
        self.spike_counts: dict[str, Counter[str]] = {}
        self.lookups: dict[str, list[_Lookup]] = defaultdict(list)
        self.glass: dict[tuple[str, str], _Glass] = {}

    # --- baselines -------------------------------------------------------------------------------

    def _learn(self, baseline: Iterable[tuple[str, str, int, int]]) -> None:
        office = set(range(self.s.office_start_hour, self.s.office_end_hour))
        # actor -> local day -> reads per local hour: usual hours are learnt per judged day from the
        # days before it only (``_unusual_on``), so a binge cannot make its own hours usual.
        self.hour_days: dict[str, dict[str, list[int]]] = defaultdict(dict)
        days: dict[str, Counter[str]] = defaultdict(Counter)
        busy: dict[str, list[int]] = defaultdict(list)
        for actor, bucket, count, cases in baseline:
            info = self.times.hour(bucket)
            per_hour = self.hour_days[actor].setdefault(info.day, [0] * 24)
            per_hour[info.hour] += count
            days[actor][info.day] += count
            busy[actor].append(cases)
        self.default_unusual = frozenset(h for h in range(24) if h not in office)
        self.unusual: dict[tuple[str, str], frozenset[int]] = {}
        self.own_median: dict[str, float] = {
            actor: _median(per_day.values())
            for actor, per_day in days.items()
            if len(per_day) >= self.s.volume_min_history_days
        }
        # The team's baseline: the median of the medians of the person's peers (same team, same role),
        # so that a team leader's long days do not raise the bar for the case workers.
        by_peers: dict[tuple[str, str], list[float]] = defaultdict(list)
        for actor, per_day in days.items():
            for group in self.facts.peer_groups(actor):
                by_peers[group].append(_median(per_day.values()))
        self.team_median = {group: float(statistics.median(values)) for group, values in by_peers.items()}
        # Distinct cases in one hour: the person's busy hour (90th percentile of their hours) and peers'.
        self.own_busy = {actor: _p90(values) for actor, values in busy.items()}
        busy_peers: dict[tuple[str, str], list[float]] = defaultdict(list)
        for actor, value in self.own_busy.items():
            for group in self.facts.peer_groups(actor):
                busy_peers[group].append(value)
        self.team_busy = {group: float(statistics.median(values)) for group, values in busy_peers.items()}

    def _unusual_on(self, actor: str, day: str) -> frozenset[int]:
        """The hours outside office hours that are unusual for ``actor`` on local ``day``, learnt
        from the ``baseline_days`` before that day (never from the day itself or later): an hour is
        usual when it holds at least ``off_hours_usual_share`` of those reads and had reads on at
        least ``off_hours_usual_days`` of those days. Too little history: every such hour is."""
        key = (actor, day)
        found = self.unusual.get(key)
        if found is not None:
            return found
        per_day = self.hour_days.get(actor, {})
        histogram, days_with = [0] * 24, [0] * 24
        judged = date.fromisoformat(day)
        for back in range(1, self.s.baseline_days + 1):
            counts = per_day.get((judged - timedelta(days=back)).isoformat())
            for hour, reads in enumerate(counts or ()):
                if reads:
                    histogram[hour] += reads
                    days_with[hour] += 1
        total = sum(histogram)
        found = self.default_unusual
        if total >= self.s.off_hours_min_history:
            found = frozenset(
                h
                for h in self.default_unusual
                if histogram[h] < self.s.off_hours_usual_share * total
                or days_with[h] < self.s.off_hours_usual_days
            )
        self.unusual[key] = found
        return found

    # --- the pass --------------------------------------------------------------------------------

    def _flag(
        self, detector: Detector, actor: str, case: str, day: str, seq: int, t: int, score: float, reason: str
    ) -> Candidate:
        key = (detector, actor, case, day)
        found = self.found.get(key)
        if found is None:
            found = self.found[key] = Candidate(detector, actor, case, day, t, t)
        found.add(seq, t)
        found.score = max(found.score, score)
        found.reason = reason
        return found

    def feed(self, rows: list[ReviewRow]) -> None:
        times, cases, start_t, end_t = self.times, self.facts.cases, self.start_t, self.end_t
        for seq, when, tag, actor, case, decision, glass, details in rows:
            info, t = times.epoch(when)
            if actor is None:
                continue
            allowed = decision == "allow"
            if case is not None and allowed and not glass and tag not in _NOT_WORK:
                self._work(actor, case, t)
            if case is not None and not allowed:
                self.probes.add(actor, case, seq, t, info.day, info.hour)
            if t < start_t or t >= end_t:
                # before the period or lookahead: only resolves work, and completes a shared night
                if (
                    allowed
                    and case is not None
                    and tag in CONTENT_TAGS
                    and self.night_from_t <= t < self.night_to_t
                ):
                    self._night_read(actor, info, seq, t)
                continue
            day = info.day
            if tag == LOOKUP_TAG:
                if allowed and details:
                    self._lookup(actor, seq, t, day, details)
                continue
            if case is None:
                continue
            if tag == _REIDENTIFIED and allowed:
                # D3/D19: a re-identification names the advice cases about a person, one entry per
                # matched case: a lookup of that case (session 16 O3).
                self._matched(actor, seq, t, day, frozenset((case,)), reidentified=True)
                continue
            facts = cases.get(case)
            is_read = tag in CONTENT_TAGS
            if not allowed:
                self._spike(case, actor, seq, t, day, facts.works_on(actor) if facts else False)
                if facts is not None and actor in facts.circle:
                    self._flag(Detector.OWN_CIRCLE, actor, case, day, seq, t, 3.0, "attempt")
                continue
            if not is_read:
                if tag in _ASSIGNMENT_TAGS and facts is not None and actor in facts.colleagues:
                    # D21: handing out one's own dossier (to oneself or another) is work on it too.
                    self._flag(Detector.COLLEAGUE, actor, case, day, seq, t, 3.0, "own_dossier")
                continue
            counts = self.day_reads[(actor, day)]
            if counts:
                counts[0] += 1
            else:
                counts.extend((1, t))
            if len(counts) < MAX_EVIDENCE + 2:
                counts.append(seq)
            hour_key = (actor, when[:13])
            in_hour = self.hour_cases.get(hour_key)
            if in_hour is None:
                in_hour = self.hour_cases[hour_key] = (set(), day, t, [])
            in_hour[0].add(case)
            if len(in_hour[3]) < MAX_EVIDENCE:
                in_hour[3].append(seq)
            self._night_read(actor, info, seq, t)
            if facts is None:
                continue
            own = facts.works_on(actor)
            self._spike(case, actor, seq, t, day, own)
            if actor in facts.circle:
                self._flag(Detector.OWN_CIRCLE, actor, case, day, seq, t, 3.0, "relation_or_address")
            if actor in facts.colleagues:
                # D21: one's own dossier, whatever the assignment (a team leader may assign it to
                # themselves; a worker owns the report they opened about themselves).
                self._flag(Detector.COLLEAGUE, actor, case, day, seq, t, 3.0, "own_dossier")
            elif facts.colleagues and not own:
                self._flag(Detector.COLLEAGUE, actor, case, day, seq, t, 3.0, "colleague_subject")
            if not own and facts.protected_near(t, self.protected_window):
                # D21: judged by the protection around the read, not only as it is now: lifting it
                # first does not hide the read (session 16 O1).
                reason = "not_assigned" if facts.protected else "protection_lifted"
                self._flag(Detector.PROTECTED, actor, case, day, seq, t, 3.0, reason)
            if facts.closed_on is not None:
                self._after_closure(facts.closed_on.toordinal(), facts.requests, actor, case, day, seq, t)
            if glass:
                self._break_glass(actor, case, day, seq, t)

    def _night_read(self, actor: str, info: HourInfo, seq: int, t: int) -> None:
        """D21: a read in an hour outside office hours that is unusual for the person, counted per
        night (from office end to the next office start): reads before and after midnight are one
        night (O2)."""
        if info.hour not in self.default_unusual or info.hour not in self._unusual_on(actor, info.day):
            return
        night = info.day
        if info.hour < self.s.office_start_hour:
            night = (date.fromisoformat(info.day) - timedelta(days=1)).isoformat()
        self.off[(actor, night)].append((seq, t, info.day))

    def _work(self, actor: str, case: str, t: int) -> None:
        pending = self.lookups.get(actor)
        if pending:
            self.lookups[actor] = [
                lookup for lookup in pending if not (case in lookup.cases and t - lookup.t <= self.window)
            ]
        access = self.glass.get((actor, case))
        if access is not None and 0 <= t - access.t <= self.window:
            access.worked = True

    def _lookup(self, actor: str, seq: int, t: int, day: str, details: str) -> None:
        try:
            ids = json.loads(details).get("cases") or ""
        except (ValueError, AttributeError):
            return
        matched = frozenset(x for x in str(ids).split(",") if x)
        if not matched:
            return  # nothing found: nothing was revealed
        self._matched(actor, seq, t, day, matched)

    def _matched(
        self, actor: str, seq: int, t: int, day: str, matched: frozenset[str], *, reidentified: bool = False
    ) -> None:
        pending = self.lookups[actor]
        this_seq = seq
        if reidentified and pending and pending[-1].last_seq == seq - 1:
            # the next entry of the same re-identification (one transaction: consecutive seqs)
            last = pending.pop()
            matched, seq, t, day = last.cases | matched, last.seq, last.t, last.day
        teams = self.facts.team_of(actor)
        other = all(
            (facts := self.facts.cases.get(c)) is not None and facts.team_id not in teams for c in matched
        )
        pending.append(_Lookup(seq, t, day, matched, other, this_seq if reidentified else None))

    def _spike(self, case: str, actor: str, seq: int, t: int, day: str, own: bool) -> None:
        if own:
            return
        window = self.s.spike_window_minutes * 60
        recent = self.spikes.get(case)
        if recent is None:
            recent = self.spikes[case] = deque()
            self.spike_counts[case] = Counter()
        counts = self.spike_counts[case]
        recent.append((t, actor, seq))
        counts[actor] += 1
        while recent and t - recent[0][0] > window:
            _, old, _ = recent.popleft()
            counts[old] -= 1
            if not counts[old]:
                del counts[old]
        if len(counts) >= self.s.spike_readers:
            found = self._flag(
                Detector.SPIKE, "", case, day, seq, t, 2.0 * len(counts) / self.s.spike_readers, "readers"
            )
            for when, _, old_seq in recent:
                if old_seq not in found.seqs:
                    found.add(old_seq, when)

    def _after_closure(
        self,
        closed_ordinal: int,
        requests: list[tuple[float, float | None]],
        actor: str,
        case: str,
        day: str,
        seq: int,
        t: int,
    ) -> None:
        closed_t = (closed_ordinal - 719_163) * _DAY  # date.toordinal() of 1970-01-01 is 719163
        if t - closed_t < self.s.closed_days * _DAY:
            return
        if any(received <= t and (done is None or done >= t) for received, done in requests):
            return
        self._flag(Detector.AFTER_CLOSURE, actor, case, day, seq, t, 2.0, "closed")

    def _break_glass(self, actor: str, case: str, day: str, seq: int, t: int) -> None:
        facts = self.facts.break_glass.get(seq)
        score, reasons = 1.0, ["use"]
        if facts is not None:
            if facts.justification_chars < self.s.break_glass_short_chars:
                score, reasons = score + 1.0, [*reasons, "short"]
            if facts.repeated:
                score, reasons = score + 1.0, [*reasons, "repeated"]
        self.glass.setdefault((actor, case), _Glass(t))
        self._flag(Detector.BREAK_GLASS, actor, case, day, seq, t, score, "+".join(reasons))

    # --- the end of the pass ---------------------------------------------------------------------

    def earlier_denials(self, rows: Iterable[tuple[int, str, str, str]]) -> None:
        """Refused attempts on a case (seq, time, person, case) from before the period's scan, for the
        chains of detector 9 (``probing``)."""
        for seq, when, actor, case in rows:
            info, t = self.times.epoch(when)
            self.probes.add(actor, case, seq, t, info.day, info.hour)

    def finish(self) -> list[Candidate]:
        self._finish_volume()
        for (actor, _), reads in self.off.items():
            if len(reads) >= self.s.off_hours_min_reads:
                # one finding per night, on the local day of its first read (the review reads every
                # night it touches whole, so that day is the same whichever period is reviewed)
                day = min(reads)[2]
                for seq, t, _ in reads:
                    self._flag(Detector.OFF_HOURS, actor, "", day, seq, t, 1.0 + 0.1 * len(reads), "hours")
        # refusals on many cases in one day, or in one noon-to-noon span over midnight (session 18, L1)
        for actor, day, refusals in self.probes.many_cases(self.s.probe_denied_cases):
            for seq, t in refusals:
                self._flag(Detector.PROBING, actor, "", day, seq, t, 1.0 + 0.2 * len(refusals), "many_cases")
        for actor, case, day, chain in self.probes.chains(self.s.probe_denials_one_case):
            for seq, t in chain:
                self._flag(Detector.PROBING, actor, case, day, seq, t, 1.0 + 0.2 * len(chain), "one_case")
        for actor, pending in self.lookups.items():
            for lookup in pending:
                if lookup.t + self.window > self.horizon_t:
                    continue  # the work may still follow: a later review decides
                score = 2.0 if lookup.other_teams_only else 1.0
                reason = "other_teams" if lookup.other_teams_only else "no_work"
                self._flag(Detector.LOOKUP, actor, "", lookup.day, lookup.seq, lookup.t, score, reason)
        for candidate in self.found.values():
            if candidate.detector is not Detector.BREAK_GLASS:
                continue
            access = self.glass.get((candidate.actor, candidate.case))
            if access is not None and not access.worked and access.t + self.window <= self.horizon_t:
                candidate.score += 1.0
                candidate.reason += "+no_work"
        return list(self.found.values())

    def _finish_volume(self) -> None:
        for (actor, day), counts in self.day_reads.items():
            reads = counts[0]
            if reads < self.s.volume_min_reads:
                continue
            groups = self.facts.peer_groups(actor)
            team = max((self.team_median.get(g, 0.0) for g in groups), default=0.0)
            bar = self.s.volume_factor * max(self.own_median.get(actor, 0.0), team)
            if reads > bar:
                t = counts[1]
                score = 2.0 * reads / max(bar, 1.0)
                found = self._flag(Detector.VOLUME, actor, "", day, counts[2], t, score, "reads")
                for seq in counts[3:]:
                    found.add(seq, t)
        for (actor, _), (cases, day, t, seqs) in self.hour_cases.items():
            if len(cases) < self.s.volume_min_cases_hour:
                continue
            groups = self.facts.peer_groups(actor)
            team = max((self.team_busy.get(g, 0.0) for g in groups), default=0.0)
            bar = self.s.volume_factor * max(self.own_busy.get(actor, 0.0), team)
            if len(cases) > bar:
                known = self.found.get((Detector.VOLUME, actor, "", day))
                reason = (
                    "reads+cases_per_hour"
                    if known is not None and known.reason == "reads"
                    else "cases_per_hour"
                )
                score = 2.0 * len(cases) / max(bar, 1.0)
                found = self._flag(Detector.VOLUME, actor, "", day, seqs[0], t, score, reason)
                for seq in seqs[1:]:
                    found.add(seq, t)
