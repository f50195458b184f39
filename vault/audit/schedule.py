"""The server's periodic checkpoints: sign one on start and every few minutes, then ask the witnesses.

Above both ``checkpoints`` (signing) and ``vault.witness.client`` (cosigning), which is why it is a
module of its own: the checkpoint code never imports the witness client.
"""

from __future__ import annotations

import threading

import structlog

from vault.audit.checkpoints import CheckpointInfo, create_checkpoint
from vault.errors import InvalidInput
from vault.runtime import Vault
from vault.witness.client import publish_checkpoint

__all__ = ["PeriodicCheckpointer"]

log = structlog.get_logger(__name__)


class PeriodicCheckpointer:
    """A daemon thread that signs a checkpoint on start (optional) and every ``minutes`` minutes.

    Failures are logged and retried next period; a broken log is logged as an error, never signed.
    """

    def __init__(self, vault: Vault, *, minutes: float, on_start: bool = True) -> None:
        if minutes <= 0:
            raise InvalidInput("the checkpoint period must be positive")
        self._vault = vault
        self._interval = minutes * 60.0
        self._on_start = on_start
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> CheckpointInfo | None:
        try:
            info = create_checkpoint(self._vault)
        except InvalidInput:
            return None  # empty log
        except Exception as exc:  # noqa: BLE001 - a background task must survive and say why
            log.error("audit_checkpoint_failed", error=type(exc).__name__)
            return None
        try:
            publish_checkpoint(self._vault, info)
        except Exception as exc:  # noqa: BLE001 - an unreachable witness shows on the integrity page
            log.error("audit_cosign_failed", error=type(exc).__name__)
        return info

    def _loop(self) -> None:
        if self._on_start:
            self.run_once()
        while not self._stop.wait(self._interval):
            self.run_once()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="audit-checkpointer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
