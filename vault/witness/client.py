"""The vault asking its witnesses to cosign a checkpoint, and what it knows about their answers.

Witnesses are configured in ``VAULT_AUDIT_WITNESSES``: entries ``<witness vkey> <URL prefix>``
separated by commas or newlines, e.g. ``fg.example/witness+1a2b3c4d+BK…= http://127.0.0.1:7380``.
For each witness the vault sends ``old <size it last cosigned>``, the RFC 6962 consistency proof
from there, and the checkpoint note (C2SP tlog-witness); a 409 names the witness's size and the
vault retries once from that size. A returned cosignature is verified against the configured key
before it is stored. A checkpoint counts as *published* once ``VAULT_AUDIT_WITNESS_QUORUM``
(default: a majority) of the configured witnesses cosigned it; the integrity status names the
witnesses whose cosignature is missing.
"""

from __future__ import annotations

import base64
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import structlog

from vault.audit import queries
from vault.audit.checkpoints import AuditSettings, CheckpointInfo, create_checkpoint, latest_checkpoint
from vault.audit.cosignature import ALG_COSIGNATURE_V1, VerifierKey, find_cosignature, parse_verifier_key
from vault.audit.cosignature import signature_lines as parse_signature_lines
from vault.audit.proofs import prove_consistency
from vault.errors import ConfigError, Integrity, InvalidInput, VaultError
from vault.models import AuditCosignature
from vault.runtime import Vault
from vault.witness import store

__all__ = [
    "Publication",
    "WitnessEndpoint",
    "WitnessResult",
    "configured_witnesses",
    "cosigned_note",
    "publish_checkpoint",
    "publish_latest",
    "required_quorum",
    "witness_status",
]

log = structlog.get_logger(__name__)

_MAX_RESPONSE = 64 * 1024


@dataclass(frozen=True, slots=True)
class WitnessEndpoint:
    key: VerifierKey
    url: str

    @property
    def key_id(self) -> str:
        return self.key.key_id.hex()


def configured_witnesses(settings: AuditSettings | None = None) -> list[WitnessEndpoint]:
    """The witnesses of ``VAULT_AUDIT_WITNESSES``; ``ConfigError`` for an entry that does not parse."""
    text = (settings or AuditSettings()).witnesses
    endpoints: list[WitnessEndpoint] = []
    for raw in text.replace("\n", ",").split(","):
        entry = raw.strip()
        if not entry:
            continue
        vkey, _, url = entry.partition(" ")
        url = url.strip().rstrip("/")
        try:
            key = parse_verifier_key(vkey, alg=ALG_COSIGNATURE_V1)
        except InvalidInput as exc:
            raise ConfigError(f"VAULT_AUDIT_WITNESSES: {exc.message}") from None
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"VAULT_AUDIT_WITNESSES: witness {key.name} needs an http(s) URL")
        if any(e.key.key_id == key.key_id for e in endpoints):
            raise ConfigError(f"VAULT_AUDIT_WITNESSES: witness {key.name} is listed twice")
        endpoints.append(WitnessEndpoint(key, url))
    return endpoints


def required_quorum(count: int, settings: AuditSettings | None = None) -> int:
    configured = (settings or AuditSettings()).witness_quorum
    quorum = count // 2 + 1 if configured is None else configured
    if count and quorum > count:
        raise ConfigError("VAULT_AUDIT_WITNESS_QUORUM is larger than the number of witnesses")
    return quorum


@dataclass(frozen=True, slots=True)
class WitnessResult:
    name: str
    key_id: str
    cosigned: bool
    reason: str | None = None


@dataclass(frozen=True)
class Publication:
    size: int
    quorum: int
    results: list[WitnessResult] = field(default_factory=list)

    @property
    def cosigned(self) -> list[str]:
        return [r.name for r in self.results if r.cosigned]

    @property
    def missing(self) -> list[str]:
        return [r.name for r in self.results if not r.cosigned]

    @property
    def published(self) -> bool:
        return bool(self.results) and len(self.cosigned) >= self.quorum


def _text_of(note: str) -> str:
    return note[: note.index("\n\n") + 1]


def _post(url: str, body: bytes, timeout: float) -> tuple[int, str]:
    request = urllib.request.Request(  # noqa: S310 - the URL scheme is checked in configured_witnesses
        url, data=body, method="POST", headers={"Content-Type": "text/plain; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read(_MAX_RESPONSE).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(_MAX_RESPONSE).decode("utf-8", "replace")


class _Asker:
    """One publication round: proofs computed once per old size, answers collected per witness."""

    def __init__(self, vault: Vault, info: CheckpointInfo, timeout: float) -> None:
        self.vault = vault
        self.info = info
        self.text = _text_of(info.note)
        self.timeout = timeout
        self._proofs: dict[int, list[bytes]] = {}
        self._lock = threading.Lock()
        self.rows: list[AuditCosignature] = []

    def proof(self, old: int) -> list[bytes]:
        if old in (0, self.info.size):
            return []
        with self._lock:
            if old not in self._proofs:
                self._proofs[old] = prove_consistency(self.vault, old, self.info.size).path
            return self._proofs[old]

    def ask(self, endpoint: WitnessEndpoint, old: int) -> WitnessResult:
        name, kid = endpoint.key.name, endpoint.key_id
        if old > self.info.size:
            return WitnessResult(name, kid, False, f"witness cosigned a larger checkpoint ({old})")
        for attempt in range(2):
            lines = "".join(f"{_b64(h)}\n" for h in self.proof(old))
            body = f"old {old}\n{lines}\n{self.info.note}".encode()
            try:
                status, answer = _post(endpoint.url + "/add-checkpoint", body, self.timeout)
            except (OSError, ValueError) as exc:
                return WitnessResult(name, kid, False, f"unreachable ({type(exc).__name__})")
            if status == 409 and attempt == 0:
                reported = answer.strip()
                if (
                    not (reported.isascii() and reported.isdigit())
                    or not 0 <= int(reported) <= self.info.size
                ):
                    reason = "witness holds a checkpoint the vault cannot extend"
                    return WitnessResult(name, kid, False, reason)
                old = int(reported)
                try:
                    self.proof(old)
                except VaultError:
                    return WitnessResult(name, kid, False, f"no consistency proof from size {old}")
                continue
            if status != 200:
                return WitnessResult(name, kid, False, f"refused (HTTP {status})")
            try:
                found = find_cosignature(parse_signature_lines(answer), self.text, endpoint.key)
            except Integrity:
                found = None
            if found is None:
                return WitnessResult(name, kid, False, "answer holds no valid cosignature")
            with self._lock:
                self.rows.append(
                    AuditCosignature(
                        checkpoint_size=self.info.size,
                        witness_key_id=kid,
                        witness_name=name,
                        timestamp=found.timestamp,
                        line=found.line,
                        received_at=self.vault.clock.now(),
                    )
                )
            return WitnessResult(name, kid, True)
        return WitnessResult(name, kid, False, "witness kept answering 409")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def publish_checkpoint(
    vault: Vault,
    info: CheckpointInfo,
    *,
    witnesses: list[WitnessEndpoint] | None = None,
    quorum: int | None = None,
    timeout: float | None = None,
) -> Publication:
    """Ask every witness (in parallel) to cosign ``info``; store the cosignatures that verify."""
    settings = AuditSettings()
    endpoints = configured_witnesses(settings) if witnesses is None else witnesses
    need = required_quorum(len(endpoints), settings) if quorum is None else quorum
    if not endpoints:
        return Publication(info.size, need)
    with queries.read_snapshot(vault.db) as conn:
        have = {row.witness_key_id for row in store.cosignatures_at(conn, info.size)}
        olds = {e.key_id: store.last_cosigned_size(conn, e.key_id) for e in endpoints}
    asker = _Asker(vault, info, timeout or settings.witness_timeout_seconds)
    todo = [e for e in endpoints if e.key_id not in have]
    with ThreadPoolExecutor(max_workers=max(1, len(todo))) as pool:
        asked = list(pool.map(lambda e: asker.ask(e, olds[e.key_id]), todo))
    answers = {e.key_id: result for e, result in zip(todo, asked, strict=True)}
    store.add_cosignatures(vault.db, asker.rows)
    results = [
        WitnessResult(e.key.name, e.key_id, True) if e.key_id in have else answers[e.key_id]
        for e in endpoints
    ]
    for result in results:
        if not result.cosigned:
            log.warning(
                "audit_cosignature_missing", witness=result.name, size=info.size, reason=result.reason
            )
    return Publication(info.size, need, results)


def publish_latest(vault: Vault) -> Publication:
    """Sign a checkpoint over the log as it is now (if anything is new) and ask the witnesses."""
    return publish_checkpoint(vault, create_checkpoint(vault))


def cosigned_note(vault: Vault, info: CheckpointInfo, witnesses: list[WitnessEndpoint] | None = None) -> str:
    """The checkpoint note with the stored cosignatures of the configured witnesses appended."""
    keys = {e.key_id for e in (configured_witnesses() if witnesses is None else witnesses)}
    with queries.read_snapshot(vault.db) as conn:
        rows = [r for r in store.cosignatures_at(conn, info.size) if r.witness_key_id in keys]
    return info.note + "".join(r.line for r in rows)


def witness_status(vault: Vault, info: CheckpointInfo | None = None) -> dict[str, Any]:
    """For the integrity status: which witnesses cosigned the latest checkpoint, which did not."""
    endpoints = configured_witnesses()
    quorum = required_quorum(len(endpoints))
    info = info or latest_checkpoint(vault)
    key_ids = [e.key_id for e in endpoints]
    with queries.read_snapshot(vault.db) as conn:
        stored = {} if info is None else {r.witness_key_id: r for r in store.cosignatures_at(conn, info.size)}
        last = {e.key_id: store.last_cosigned_size(conn, e.key_id) for e in endpoints}
        published_size = store.published_sizes(conn, key_ids, quorum)
    witnesses = [
        {
            "name": e.key.name,
            "key_id": e.key_id,
            "cosigned": e.key_id in stored,
            "last_cosigned_size": last[e.key_id] or None,
            "cosigned_at": stored[e.key_id].timestamp if e.key_id in stored else None,
        }
        for e in endpoints
    ]
    cosigned = sum(1 for w in witnesses if w["cosigned"])
    return {
        "configured": bool(endpoints),
        "quorum": quorum if endpoints else 0,
        "checkpoint_size": None if info is None else info.size,
        "published": bool(endpoints) and info is not None and cosigned >= quorum,
        "published_size": published_size,
        "witnesses": witnesses,
        "missing_cosignatures": [w["name"] for w in witnesses if not w["cosigned"]],
    }
