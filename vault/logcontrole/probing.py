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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

__all__ = ["PROBE_GAP", "Probes"]

PROBE_GAP = 24 * 3600  # seconds between two refusals of one chain


class Probes:
    """Refused attempts per (person, case) in time order; ``chains`` answers the probing ones."""

    def __init__(self, start_t: int, end_t: int) -> None:
        self.start_t, self.end_t = start_t, end_t
        self._seen: dict[tuple[str, str], list[tuple[int, int, str]]] = defaultdict(list)

    def add(self, actor: str, case: str, seq: int, t: int, day: str) -> None:
        """One refused attempt (seq, epoch seconds, local day), in the period or around it."""
        self._seen[(actor, case)].append((t, seq, day))

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
