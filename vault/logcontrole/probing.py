"""Detector 9, one case (D21): refused attempts on one case chained in time (session 16, O8).

Counting a person's refused attempts per case and *calendar day* let two refusals before midnight and
two after (four within half an hour) pass under ``probe_denials_one_case``. Attempts are chained
instead: a refusal within ``PROBE_GAP`` of the previous one on the same case by the same person joins
its chain; a chain of ``probe_denials_one_case`` or more is probing. The finding is keyed by the local
day of the chain's first refusal, so a review of either day (or of both) finds the same one.

A review reads the refusals of the ``PROBE_GAP`` before its period (``scan.denials_between``) and sees
those after it in its look-ahead; a chain is judged by the review only when one of its refusals lies in
the period (the earlier day's review judged the others). A chain longer than the read-back can be
keyed by a later day in a later review than in an earlier one (docs/audit.md).

Detector 9, many cases (session 18, L1): refusals on ``probe_denied_cases`` cases or more by one person
within one local calendar day, *or* within one span from noon to the next noon (local), so that a burst
split at midnight is one burst. Any burst within twelve hours lies whole in one of the two. The finding is
keyed by the local day of the first refusal of the day or span, so either day's review finds the same one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta

__all__ = ["PROBE_GAP", "Probes"]

PROBE_GAP = 24 * 3600  # seconds between two refusals of one chain


class Probes:
    """Refused attempts per (person, case) in time order; ``chains`` answers the probing ones."""

    def __init__(self, start_t: int, end_t: int) -> None:
        self.start_t, self.end_t = start_t, end_t
        self._seen: dict[tuple[str, str], list[tuple[int, int, str]]] = defaultdict(list)
        self._noon: dict[int, str] = {}  # seq -> the local day the refusal's noon-to-noon span began

    def add(self, actor: str, case: str, seq: int, t: int, day: str, hour: int = 12) -> None:
        """One refused attempt (seq, epoch seconds, local day and hour), in the period or around it."""
        self._seen[(actor, case)].append((t, seq, day))
        self._noon[seq] = day if hour >= 12 else (date.fromisoformat(day) - timedelta(days=1)).isoformat()

    def many_cases(self, minimum: int) -> Iterator[tuple[str, str, list[tuple[int, int]]]]:
        """(person, local day of the first refusal, [(seq, t)]) of each burst: the local days and noon-to-
        noon spans in which the person was refused on ``minimum`` or more cases, those sharing a refusal
        merged into one, with one refusal in the period."""
        spans: dict[tuple[str, str, str], dict[int, tuple[int, str, str]]] = defaultdict(dict)
        for (actor, case), seen in self._seen.items():
            for t, seq, day in seen:
                spans[(actor, "day", day)][seq] = (t, case, day)
                spans[(actor, "noon", self._noon[seq])][seq] = (t, case, day)
        # Spans that share a refusal are one burst (review S18 B2: a burst from 23:50 whose part after
        # midnight fills a day on its own was two findings, keyed by either day): merged, then keyed.
        bursts: dict[str, list[dict[int, tuple[int, str, str]]]] = defaultdict(list)
        for (actor, _, _), refusals in spans.items():
            if len({case for _, case, _ in refusals.values()}) < minimum:
                continue
            merged, apart = dict(refusals), []
            for other in bursts[actor]:
                if other.keys() & merged.keys():
                    merged.update(other)
                else:
                    apart.append(other)
            bursts[actor] = [*apart, merged]
        for actor, found in bursts.items():
            for burst in found:
                if not any(self.start_t <= t < self.end_t for t, _, _ in burst.values()):
                    continue
                first = min((t, seq) for seq, (t, _, _) in burst.items())
                evidence = sorted(((seq, t) for seq, (t, _, _) in burst.items()), key=lambda i: (i[1], i[0]))
                yield actor, burst[first[1]][2], evidence

    def chains(self, minimum: int) -> Iterator[tuple[str, str, str, list[tuple[int, int]]]]:
        """(person, case, local day of the first refusal, [(seq, t)]) of each chain of ``minimum`` or
        more refusals with at least one in the period."""
        for (actor, case), seen in self._seen.items():
            chain: list[tuple[int, int, str]] = []
            for item in [*sorted(set(seen)), None]:
                if item is not None and (not chain or item[0] - chain[-1][0] <= PROBE_GAP):
                    chain.append(item)
                    continue
                if len(chain) >= minimum and any(self.start_t <= t < self.end_t for t, _, _ in chain):
                    yield actor, case, chain[0][2], [(seq, t) for t, seq, _ in chain]
                chain = [item] if item is not None else []
