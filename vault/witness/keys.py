"""The witness's own Ed25519 key: a file in the witness directory, created on first use (mode 0600).

The file holds the cosigner name and the 32-byte seed (base64) as JSON. It appears whole or not at
all (temporary file, fsync, link, fsync of the directory), so no crash leaves a key file that stops
the witness. The key never leaves the file except as the verifier key
(``name+keyid+base64(0x04 ‖ public key)``) that the witness publishes.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Final

from vault.audit.cosignature import cosigner_verifier_key
from vault.crypto.signing import SEED_SIZE, SigningKey
from vault.errors import ConfigError, InvalidInput
from vault.files import fsync_dir

__all__ = ["KEY_FILE", "WitnessKey", "load_or_create_key"]

KEY_FILE: Final = "witness-key.json"
# A key being written; one left by a crash holds a key nobody was given and may be deleted.
_TEMP_PREFIX: Final = ".witness-key-"


class WitnessKey:
    """The witness's name and signing key. Prints as its verifier key only."""

    __slots__ = ("key", "name")

    def __init__(self, name: str, key: SigningKey) -> None:
        self.name = name
        self.key = key

    @property
    def verifier_key(self) -> str:
        return cosigner_verifier_key(self.name, self.key.public_key_bytes())

    def __repr__(self) -> str:
        return f"WitnessKey({self.verifier_key})"


def _write_new(path: Path, name: str) -> None:
    """Create the key file whole or not at all: written to a temporary file beside it, made durable,
    then linked to its name. A crash or a full disk leaves a temporary file, never a half-written key
    file that would stop every later start; the link never replaces a key another process made
    first (``FileExistsError``: the caller then uses that one)."""
    seed = secrets.token_bytes(SEED_SIZE)
    data = json.dumps({"name": name, "seed": base64.b64encode(seed).decode("ascii")}) + "\n"
    fd, temp = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=".tmp", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.link(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    fsync_dir(path.parent)


def _checked_name(name: str | None) -> str:
    """The cosigner name for a new key: ``witness`` when none is given; a given one must be a valid
    name (an empty one too: ``--name "$UNSET"`` is refused, never replaced by the default) in UTF-8."""
    chosen = "witness" if name is None else name
    try:
        cosigner_verifier_key(chosen, b"\0" * 32)
    except UnicodeError:  # bytes that are not UTF-8 on the command line (os.fsdecode's surrogates)
        raise InvalidInput("the witness name must be UTF-8 text") from None
    return chosen


def load_or_create_key(directory: Path, name: str | None = None) -> WitnessKey:
    """The key in ``directory``; created (mode 0600) under ``name`` when there is none yet."""
    path = directory / KEY_FILE
    chosen = _checked_name(name)  # before anything is created: a refused name leaves nothing behind
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            with contextlib.suppress(FileExistsError):  # another process created it first: use theirs
                _write_new(path, chosen)
        mode = path.stat().st_mode
        content = path.read_text(encoding="utf-8")
    except OSError as exc:  # one line naming the folder, not a traceback
        raise ConfigError(f"--dir: cannot use {directory} ({exc.strerror or type(exc).__name__})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a witness key file") from None
    if mode & 0o077:
        raise ConfigError(f"{path} is readable by others; it must be mode 0600")
    try:
        data = json.loads(content)
        stored_name = data["name"]
        seed = base64.b64decode(data["seed"], validate=True)
        key = WitnessKey(stored_name, SigningKey(seed))
        cosigner_verifier_key(stored_name, key.key.public_key_bytes())
    except (ValueError, KeyError, TypeError, InvalidInput):
        raise ConfigError(f"{path} is not a witness key file") from None
    if name is not None and name != stored_name:
        raise ConfigError(f"the witness key in {directory} is named {stored_name!r}, not {name!r}")
    return key
