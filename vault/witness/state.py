"""What the witness remembers: per log origin, the latest checkpoint it cosigned.

One JSON file in the witness directory (``state.json``), rewritten atomically (temporary file, fsync,
rename, fsync of the directory) before a cosignature is returned. Check-and-update runs under one
lock (tlog-witness: otherwise two concurrent requests could roll the record back), and a lock file
(``flock``) keeps a second witness process off the same directory.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from vault.errors import ConfigError

__all__ = ["LogRecord", "StateNotSaved", "WitnessState"]

STATE_FILE: Final = "state.json"
LOCK_FILE: Final = "witness.lock"


@dataclass(frozen=True, slots=True)
class LogRecord:
    """The latest cosigned checkpoint of one log: size, root, and the note with our cosignature."""

    size: int
    root_hash: bytes
    note: str

    def as_json(self) -> dict[str, Any]:
        root = base64.b64encode(self.root_hash).decode("ascii")
        return {"size": self.size, "root": root, "note": self.note}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LogRecord:
        root = base64.b64decode(data["root"], validate=True)
        size = data["size"]
        if not isinstance(size, int) or size < 0 or len(root) != 32 or not isinstance(data["note"], str):
            raise ValueError("bad record")
        return cls(size, root, data["note"])


class WitnessState:
    """The witness's record, loaded once and kept in step with its file."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._path = directory / STATE_FILE
        self._lock = threading.Lock()
        try:
            self._lock_fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise _unusable(directory, exc) from None
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise ConfigError(f"another witness process is using {directory}") from None
        except OSError as exc:
            os.close(self._lock_fd)
            raise _unusable(directory, exc) from None
        try:
            self._logs = self._load()
            self._check_writable()
        except BaseException:
            self.close()
            raise

    def _load(self) -> dict[str, LogRecord]:
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:  # a folder in its place, no permission, an I/O error: one line
            raise _unusable(self._dir, exc) from None
        try:
            data = json.loads(raw.decode("utf-8"))
            return {origin: LogRecord.from_json(rec) for origin, rec in data["logs"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ConfigError(f"{self._path} is not a witness state file") from None

    def _check_writable(self) -> None:
        """Refuse at start a directory the record cannot be written to (read-only, wrong owner): found
        only at the first checkpoint, every cosignature would be refused."""
        tmp = self._dir / f".{STATE_FILE}.tmp"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
            os.unlink(tmp)
        except OSError as exc:
            raise _unusable(self._dir, exc) from None

    def close(self) -> None:
        if self._lock_fd >= 0:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = -1

    def get(self, origin: str) -> LogRecord | None:
        with self._lock:
            return self._logs.get(origin)

    @contextmanager
    def updating(self, origin: str) -> Iterator[tuple[LogRecord | None, list[LogRecord]]]:
        """Hold the lock while the caller checks the current record and maybe appends a new one.

        The caller appends at most one ``LogRecord`` to the yielded list; it is persisted before
        the lock is released.
        """
        with self._lock:
            new: list[LogRecord] = []
            yield self._logs.get(origin), new
            if new:
                logs = {**self._logs, origin: new[-1]}
                self._write(logs)
                self._logs = logs

    def _write(self, logs: dict[str, LogRecord]) -> None:
        """Replace the file whole; ``StateNotSaved`` (the record in memory unchanged, no temporary file
        left) when the disk refuses."""
        text = json.dumps({"version": 1, "logs": {o: r.as_json() for o, r in logs.items()}}, indent=1)
        tmp = self._dir / f".{STATE_FILE}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(text + "\n")
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, self._path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            dir_fd = os.open(self._dir, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise StateNotSaved(exc.strerror or type(exc).__name__) from None


class StateNotSaved(Exception):
    """The witness's record could not be written; no cosignature may be given (tlog-witness)."""


def _unusable(directory: Path, exc: OSError) -> ConfigError:
    """The one line of docs/audit.md for a witness directory that cannot be used (exit 2)."""
    return ConfigError(f"--dir: cannot use {directory} ({exc.strerror or type(exc).__name__})")
