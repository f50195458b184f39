"""A daemon thread that runs a task every few minutes: the server's checkpoints
(``vault.audit.schedule``) and its daily log review (``vault.logcontrole.daily``)."""

from __future__ import annotations

import threading

from vault.errors import InvalidInput

__all__ = ["Periodic"]


class Periodic:
    """Runs ``run_once`` every ``minutes`` minutes in a daemon thread (also at once on start with
    ``on_start``). ``run_once`` must not raise: a subclass logs a failure and retries next period."""

    thread_name = "periodic"

    def __init__(self, *, minutes: float, on_start: bool = False) -> None:
        if minutes <= 0:
            raise InvalidInput(f"the {self.thread_name} period must be positive")
        self._interval = minutes * 60.0
        self._on_start = on_start
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> object:
        raise NotImplementedError

    def _loop(self) -> None:
        if self._on_start:
            self.run_once()
        while not self._stop.wait(self._interval):
            self.run_once()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
