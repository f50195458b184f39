"""The witness's decision on one ``add-checkpoint`` request (C2SP tlog-witness), apart from HTTP.

Checks, in the spec's order: the request's form (400), a known origin (404), a verifying signature by
the log's key (403), ``old <= size`` (400), ``old`` equal to the size last cosigned (409, answering
that size), the empty tree's root at size 0 and an empty proof from 0 (422), the RFC 6962 consistency
proof from the recorded root, or equal roots at equal sizes (422). Only then is the new record
persisted and the cosignature returned. A fork or a rollback is therefore never cosigned.

The record (served to monitors on ``GET /<sha256(origin)>/checkpoint``) holds only what the witness
checked: the checkpoint body, the log's signature lines (each verified) and the witness's own line.
Other lines of a posted note are dropped, so nobody can make the witness serve a line it never checked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import structlog

from vault.audit.cosignature import (
    ALG_ED25519,
    VerifierKey,
    cosign,
    find_cosignature,
    parse_verifier_key,
)
from vault.audit.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency
from vault.audit.note import open_note, parse_checkpoint_body
from vault.errors import Integrity, InvalidInput
from vault.witness.keys import WitnessKey
from vault.witness.state import LogRecord, StateNotSaved, WitnessState

__all__ = ["Answer", "KnownLog", "Witness", "parse_log_option"]

log = structlog.get_logger(__name__)

MAX_BODY: Final = 64 * 1024
_MAX_PROOF_LINES: Final = 63
_OLD_LINE: Final = re.compile(r"old (0|[1-9][0-9]{0,19})")
SIZE_CONTENT_TYPE: Final = "text/x.tlog.size"
_SIG_PREFIX: Final = "\u2014 "  # signed-note signature lines: U+2014 EM DASH, then a space


@dataclass(frozen=True, slots=True)
class KnownLog:
    origin: str
    key: VerifierKey


def parse_log_option(text: str) -> KnownLog:
    """``"<origin> <log vkey>"`` (split at the last space), as given to ``--log``."""
    origin, sep, vkey = text.strip().rpartition(" ")
    if not sep or not origin.strip():
        raise InvalidInput("a log is given as '<origin> <verifier key>'")
    try:
        key = parse_verifier_key(vkey, alg=ALG_ED25519)
    except UnicodeError:  # bytes that are not UTF-8 on the command line (os.fsdecode's surrogates)
        raise InvalidInput("the log's verifier key must be UTF-8 text") from None
    return KnownLog(_checked_origin(origin.strip()), key)


def _checked_origin(origin: str) -> str:
    """The origin as a checkpoint's first line can carry it, by the rule the vault's ``VAULT_AUDIT_ORIGIN``
    follows: printable text, no control or format character (and so UTF-8). Any other origin would
    never match a checkpoint: a witness that cosigns nothing, or worse, cannot hash it (a 500)."""
    if not origin or not origin.isprintable():
        raise InvalidInput("a log origin is printable text, without control or format characters")
    return origin


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


def _b64_hash(line: str) -> bytes | None:
    try:
        raw = base64.b64decode(line, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == HASH_SIZE and base64.b64encode(raw).decode() == line else None


class Witness:
    """Cosigns checkpoints of known logs that extend what it cosigned before."""

    def __init__(
        self,
        key: WitnessKey,
        state: WitnessState,
        logs: list[KnownLog],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key = key
        self._own_key = parse_verifier_key(key.verifier_key)
        self.state = state
        self.logs = {_checked_origin(known.origin): known for known in logs}
        self._clock = clock

    def add_checkpoint(self, body: bytes) -> Answer:
        if len(body) > MAX_BODY:
            return Answer(413, "request too large\n")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return Answer(400, "request is not UTF-8\n")
        header, sep, note = text.partition("\n\n")
        lines = header.split("\n")
        old_match = _OLD_LINE.fullmatch(lines[0]) if sep else None
        if old_match is None or len(lines) - 1 > _MAX_PROOF_LINES:
            return Answer(400, "malformed request: expected 'old <size>', proof lines, a blank line\n")
        proof = [_b64_hash(line) for line in lines[1:]]
        if any(p is None for p in proof):
            return Answer(400, "malformed consistency proof line\n")
        old = int(old_match.group(1))
        origin = note.split("\n", 1)[0]
        known = self.logs.get(origin)
        if known is None:
            return Answer(404, "unknown log origin\n")
        try:
            checkpoint_text = open_note(note, known.key.name, known.key.public_key)
            cp = parse_checkpoint_body(checkpoint_text)
        except Integrity:
            return Answer(403, "checkpoint carries no valid signature by the log's key\n")
        if old > cp.size:
            return Answer(400, "old size is larger than the checkpoint size\n")
        hashes = [p for p in proof if p is not None]
        try:
            with self.state.updating(origin) as (current, new):
                latest = current.size if current else 0
                if old != latest:
                    log.info("witness_conflict", origin_hash=_origin_hash(origin), old=old, latest=latest)
                    return Answer(409, f"{latest}\n", SIZE_CONTENT_TYPE)
                if cp.size == 0 and cp.root_hash != EMPTY_ROOT:
                    return Answer(422, "a checkpoint of size 0 must have the empty tree's root\n")
                if old == 0:
                    if hashes:
                        return Answer(422, "no consistency proof is expected from size 0\n")
                elif current is None or not _consistent(current, cp.size, cp.root_hash, hashes):
                    origin_hash = _origin_hash(origin)
                    log.warning("witness_inconsistent", origin_hash=origin_hash, old=old, size=cp.size)
                    return Answer(422, "consistency proof does not verify\n")
                timestamp = max(1, int(self._clock()))
                line = cosign(checkpoint_text, self.key.name, self.key.key, timestamp)
                log_lines = _lines_by(note[len(checkpoint_text) + 1 :], known.key)
                new.append(LogRecord(cp.size, cp.root_hash, f"{checkpoint_text}\n{log_lines}{line}"))
        except StateNotSaved as exc:  # nothing returned that the witness could forget (tlog-witness)
            log.error("witness_state_not_saved", origin_hash=_origin_hash(origin), reason=str(exc))
            return Answer(503, "the witness could not record the checkpoint; try again later\n")
        log.info("witness_cosigned", origin_hash=_origin_hash(origin), size=cp.size)
        return Answer(200, line)

    def latest(self, origin_hash: str) -> Answer:
        """``GET /<sha256(origin) hex>/checkpoint``: the latest cosigned checkpoint, or 404."""
        for origin, known in self.logs.items():
            if _origin_hash(origin) == origin_hash:
                record = self.state.get(origin)
                if record is not None:
                    return Answer(200, self._checked_note(record.note, known.key))
        return Answer(404, "no checkpoint cosigned for that log\n")

    def _checked_note(self, note: str, log_key: VerifierKey) -> str:
        """``note`` with only the log's lines and our own verifying ones.

        Records are stored that way; this also cleans a record written by an older witness that kept
        the posted note verbatim (whose log lines it had verified, but not the other lines).
        """
        text, _, block = note.partition("\n\n")
        text += "\n"
        own = [
            line for line in _split_lines(block) if _is_by(line, self._own_key) and self._verifies(line, text)
        ]
        return f"{text}\n{_lines_by(block, log_key)}{''.join(own)}"

    def _verifies(self, line: str, text: str) -> bool:
        try:
            return find_cosignature([line], text, self._own_key) is not None
        except (Integrity, InvalidInput):
            return False


def _split_lines(block: str) -> list[str]:
    return [line + "\n" for line in block.split("\n") if line]


def _is_by(line: str, key: VerifierKey) -> bool:
    """Whether a signature line names ``key`` (its name and key id); says nothing of its signature."""
    name, _, encoded = line.removeprefix(_SIG_PREFIX).rstrip("\n").partition(" ")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return False
    return line.startswith(_SIG_PREFIX) and name == key.name and blob[:4] == key.key_id


def _lines_by(block: str, key: VerifierKey) -> str:
    """The lines of a signature block that name ``key``: ``open_note`` verified every one of them."""
    return "".join(line for line in _split_lines(block) if _is_by(line, key))


def _consistent(current: LogRecord, size: int, root: bytes, proof: list[bytes]) -> bool:
    if size == current.size:
        return not proof and root == current.root_hash
    return verify_consistency(current.size, size, current.root_hash, root, proof)


def _origin_hash(origin: str) -> str:
    return hashlib.sha256(origin.encode("utf-8")).hexdigest()
