"""Reloading swaps in a new engine while other threads decide: no wrong answer, no exception."""

from __future__ import annotations

import threading

from vault.policy import Decision, PolicyHolder

from .factbuilder import actor_for, context_for, load_rows, target_for

DECIDERS = 8
RELOADS = 100


def test_eight_threads_deciding_during_a_hundred_reloads() -> None:
    holder = PolicyHolder()
    requests = [(actor_for(r), target_for(r), r.action, context_for(r)) for r in load_rows()]
    expected = [holder.current.decide(*request) for request in requests]
    assert all(d.rule != "error-deny" for d in expected)

    stop = threading.Event()
    start = threading.Barrier(DECIDERS + 1)
    wrong: list[tuple[int, Decision]] = []
    errors: list[BaseException] = []
    decided = [0] * DECIDERS

    def decide_loop(worker: int) -> None:
        try:
            start.wait()
            while not stop.is_set():
                for i, request in enumerate(requests):
                    decision = holder.decide(*request)
                    if decision != expected[i]:
                        wrong.append((i, decision))
                    decided[worker] += 1
        except BaseException as exc:  # noqa: BLE001 - any failure in a worker fails the test
            errors.append(exc)

    threads = [threading.Thread(target=decide_loop, args=(n,)) for n in range(DECIDERS)]
    for thread in threads:
        thread.start()
    last = None
    reloads = 0
    try:
        start.wait()
        for _ in range(RELOADS):
            last = holder.reload()
            reloads += 1
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    assert not errors
    assert wrong == []
    assert all(count > 0 for count in decided)
    assert reloads == RELOADS
    assert holder.current is last
