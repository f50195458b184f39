"""The vault asking its witnesses to cosign a checkpoint, and what it knows about their answers.

Witnesses are configured in ``VAULT_AUDIT_WITNESSES``: entries ``<witness vkey> <URL prefix>`` separated by
commas or newlines, e.g. ``fg.example/witness+1a2b3c4d+BK…= http://127.0.0.1:7380``. For each witness the
vault sends ``old <size it last cosigned>``, the RFC 6962 consistency proof from there, and the checkpoint
note (C2SP tlog-witness); a 409 names the witness's size and the vault retries once from that size, never from
below the size that witness last cosigned (a witness that lost its record is reported, not re-based). A
returned cosignature is verified against the configured key, in canonical base64, before it is stored. A
checkpoint counts as *published* once ``VAULT_AUDIT_WITNESS_QUORUM`` (default: a majority) of the configured
witnesses cosigned it, counting only stored cosignatures that verify over the checkpoint note as stored now.
The timeout (``VAULT_AUDIT_WITNESS_TIMEOUT_SECONDS``) bounds each request as a whole, not each socket
operation (``vault.witness.transport``). Whatever one witness answers, or whatever goes wrong while asking it,
fails that witness alone: the round goes on and the quorum decides.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import threading
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Final

import structlog
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from vault.audit import queries
from vault.audit.checkpoints import (
    AuditSettings,
    CheckpointInfo,
    CheckpointSigner,
    create_checkpoint,
    latest_checkpoint,
    load_audit_settings,
)
from vault.audit.cosignature import (
    ALG_COSIGNATURE_V1,
    VerifierKey,
    cosignature_verifies,
    find_cosignature,
    parse_verifier_key,
)
from vault.audit.cosignature import signature_lines as parse_signature_lines
from vault.audit.proofs import prove_consistency, signed_checkpoint
from vault.errors import ConfigError, Integrity, InvalidInput, VaultError
from vault.models import AuditCosignature
from vault.runtime import Vault
from vault.witness import store
from vault.witness.transport import Connections, reported_size

__all__ = [
    "Publication",
    "StoredCosignatures",
    "WitnessEndpoint",
    "WitnessResult",
    "configured_witnesses",
    "cosigned_note",
    "fork_problems",
    "publish_checkpoint",
    "publish_latest",
    "required_quorum",
    "stored_cosignatures",
    "witness_status",
]

log = structlog.get_logger(__name__)

# Per witness: the last time it reported a size below the one it cosigned (its record lost or rolled
# back), kept in ``vault_meta`` so that the integrity status shows it.
_ALERT_KEY: Final = "audit.witness_alert."
# Per witness: the size of a checkpoint it holds that the vault lacks (the log was cut back or forked).
_FORK_KEY: Final = "audit.witness_fork."
_FORKED: Final = "holds checkpoint {}, which the vault does not hold: the log was cut back or forked"


@dataclass(frozen=True, slots=True)
class WitnessEndpoint:
    key: VerifierKey
    url: str

    @property
    def key_id(self) -> str:
        return self.key.key_id.hex()


def configured_witnesses(settings: AuditSettings | None = None) -> list[WitnessEndpoint]:
    """The witnesses of ``VAULT_AUDIT_WITNESSES``; ``ConfigError`` for an entry that does not parse."""
    text = (settings or load_audit_settings()).witnesses
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
    configured = (settings or load_audit_settings()).witness_quorum
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
    ahead: bool = False  # it cosigned a larger checkpoint: sign a newer one and ask again
    pending: bool = False  # still answering when the quorum was in (stored if it arrives in time)


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

    @property
    def witnesses_ahead(self) -> bool:
        return any(r.ahead for r in self.results)


def _text_of(note: str) -> str:
    return note[: note.index("\n\n") + 1]


def rewritten_after_witnessing(name: str, size: int) -> str:
    """The reason given for a stored cosignature that no longer verifies over its checkpoint."""
    return (
        f"the stored cosignature by {name} does not verify over checkpoint {size}: "
        "the log was rewritten after it was witnessed"
    )


@dataclass(frozen=True)
class StoredCosignatures:
    """The stored cosignatures of one checkpoint, checked against its note *as stored now*: a row
    that no longer verifies (``broken``) is never counted — the log was rewritten after it."""

    size: int
    valid: dict[str, AuditCosignature]  # by witness key id
    broken: list[WitnessEndpoint]


def stored_cosignatures(
    conn: Connection, size: int, note: str, witnesses: Iterable[WitnessEndpoint]
) -> StoredCosignatures:
    """Check the stored cosignatures of checkpoint ``size`` against its stored ``note`` (rows by
    witnesses no longer configured are left out: without their key nothing can be said of them)."""
    by_id = {e.key_id: e for e in witnesses}
    text = _text_of(note)
    valid: dict[str, AuditCosignature] = {}
    broken: list[WitnessEndpoint] = []
    for row in store.cosignatures_at(conn, size):
        endpoint = by_id.get(row.witness_key_id)
        if endpoint is None:
            continue
        if cosignature_verifies(row.line, text, endpoint.key):
            valid[row.witness_key_id] = row
        else:
            broken.append(endpoint)
    return StoredCosignatures(size, valid, broken)


class _Asker:
    """One publication round: proofs computed once per old size, answers collected per witness.

    Each request has its own deadline (the timeout); the round's deadline (two of them: one retry
    after a 409) cuts every connection still open then, whether or not anyone still waits for it."""

    def __init__(self, vault: Vault, info: CheckpointInfo, timeout: float) -> None:
        self.vault = vault
        self.info = info
        self.text = _text_of(info.note)
        self.timeout = timeout
        self._proofs: dict[int, list[bytes]] = {}
        self.signer = CheckpointSigner.for_vault(vault)
        self._lock = threading.Lock()
        self.connections = Connections()

    def proof(self, old: int) -> list[bytes]:
        if old in (0, self.info.size):
            return []
        with self._lock:
            if old not in self._proofs:
                self._proofs[old] = prove_consistency(self.vault, old, self.info.size).path
            return self._proofs[old]

    def ask(self, endpoint: WitnessEndpoint, old: int) -> WitnessResult:
        name, kid = endpoint.key.name, endpoint.key_id
        cosigned_before = old  # the size this witness last cosigned, from the stored cosignatures
        if old > self.info.size:
            if not self._holds(old):
                return self._forked(endpoint, old)
            return WitnessResult(name, kid, False, f"witness cosigned a larger checkpoint ({old})", True)
        for attempt in range(2):
            try:
                lines = "".join(f"{base64.b64encode(h).decode()}\n" for h in self.proof(old))
            except VaultError:
                return WitnessResult(name, kid, False, f"no consistency proof from size {old}")
            body = f"old {old}\n{lines}\n{self.info.note}".encode()
            try:
                status, answer = self.connections.post(endpoint.url + "/add-checkpoint", body, self.timeout)
            except (OSError, ValueError, http.client.HTTPException) as exc:
                if self.connections.was_cut or isinstance(exc, TimeoutError):
                    return WitnessResult(name, kid, False, "no complete answer within the timeout")
                return WitnessResult(name, kid, False, f"unreachable ({type(exc).__name__})")
            if status == 409 and attempt == 0:
                size = reported_size(answer)
                if size is None:
                    return WitnessResult(name, kid, False, "witness answered 409 without a usable size")
                if size < cosigned_before:
                    return self._lost_record(endpoint, size, cosigned_before)
                if not self._holds(size):
                    return self._forked(endpoint, size)
                if size > self.info.size:
                    reason = f"witness holds a larger checkpoint ({size})"
                    return WitnessResult(name, kid, False, reason, ahead=True)
                old = size
                continue
            if status == 422 and old:  # C2SP: the consistency proof from its checkpoint does not verify
                return self._forked(endpoint, old)
            if status != 200:
                return WitnessResult(name, kid, False, f"refused (HTTP {status})")
            return self._accept(endpoint, answer)
        return WitnessResult(name, kid, False, "witness kept answering 409")

    def _accept(self, endpoint: WitnessEndpoint, answer: str) -> WitnessResult:
        """Verify the witness's answer (key, signature, canonical spelling) and store it at once."""
        name, kid = endpoint.key.name, endpoint.key_id
        try:
            found = find_cosignature(parse_signature_lines(answer), self.text, endpoint.key)
        except Integrity as exc:
            # Refused, never stored: the table is append-only, a bad line would stay for good.
            return WitnessResult(name, kid, False, f"answer refused: {exc.message}")
        if found is None:
            return WitnessResult(name, kid, False, "answer holds no cosignature by this witness")
        row = AuditCosignature(
            checkpoint_size=self.info.size,
            witness_key_id=kid,
            witness_name=name,
            timestamp=found.timestamp,
            line=found.line,
            received_at=self.vault.clock.now(),
        )
        store.add_cosignatures(self.vault.db, [row])
        return WitnessResult(name, kid, True)

    def _lost_record(self, endpoint: WitnessEndpoint, reported: int, cosigned: int) -> WitnessResult:
        """A witness naming a size below the one it cosigned lost (or rolled back) its record, the
        very thing that lets it detect a fork: reported, never re-based (docs/audit.md)."""
        name, kid = endpoint.key.name, endpoint.key_id
        log.warning("audit_witness_record_lost", witness=name, size=reported, cosigned=cosigned)
        self._keep(_ALERT_KEY + kid, {"reported_size": reported, "cosigned_size": cosigned})
        reason = (
            f"witness reports size {reported}, below the size {cosigned} it cosigned: "
            "its record was lost or rolled back (not re-based)"
        )
        return WitnessResult(name, kid, False, reason)

    def _holds(self, size: int) -> bool:
        """Whether the vault holds a checkpoint of ``size`` signed by its key: then a 409 naming it is a race
        (another root at that size needs the vault's key, and the proof from it then fails: 422)."""
        with contextlib.suppress(VaultError):  # (a size SQLite cannot store is none of the vault's)
            return size < 1 << 63 and bool(signed_checkpoint(self.vault, self.signer, size))
        return False

    def _forked(self, endpoint: WitnessEndpoint, held: int) -> WitnessResult:
        """A witness holding a checkpoint the vault lacks, or refusing the proof from the one it holds,
        saw another history: the log was cut back or forked. Kept until it cosigns again (``_fork_size``)."""
        name, kid = endpoint.key.name, endpoint.key_id
        log.error("audit_witness_fork", witness=name, size=held, checkpoint=self.info.size)
        self._keep(_FORK_KEY + kid, {"witness_size": held, "vault_size": self.info.size})
        return WitnessResult(name, kid, False, "witness " + _FORKED.format(held))

    def _keep(self, key: str, alert: dict[str, Any]) -> None:
        """Store an alert about a witness durably, with the time (a race with another worker: same)."""
        with contextlib.suppress(IntegrityError), self.vault.db.session() as session:
            queries.set_meta(session, key, {**alert, "at": self.vault.clock.now().isoformat()})

    def ask_all(
        self, todo: list[WitnessEndpoint], olds: dict[str, int], wanted: int
    ) -> dict[str, WitnessResult]:
        """Ask ``todo`` in parallel; stop waiting once ``wanted`` more cosigned or at the deadline."""
        if not todo:
            return {}
        budget = 2 * self.timeout
        deadline = time.monotonic() + budget
        timer = threading.Timer(budget, self.connections.cut)
        timer.daemon = True
        timer.start()
        pool = ThreadPoolExecutor(max_workers=len(todo), thread_name_prefix="witness")
        futures: dict[Future[WitnessResult], WitnessEndpoint] = {
            pool.submit(self.ask, e, olds[e.key_id]): e for e in todo
        }
        answers: dict[str, WitnessResult] = {}
        pending = set(futures)
        try:
            while pending and sum(r.cosigned for r in answers.values()) < wanted:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                done, pending = wait(pending, timeout=left, return_when=FIRST_COMPLETED)
                for future in done:
                    answers[futures[future].key_id] = _result_of(future, futures[future])
        finally:
            # Never wait for the others here: a slow witness must not hold publication.
            pool.shutdown(wait=False, cancel_futures=True)
            if not pending:
                timer.cancel()
        quorum_in = sum(r.cosigned for r in answers.values()) >= wanted
        why = "still answering when the quorum was in" if quorum_in else "no answer within the timeout"
        for e in (futures[future] for future in pending):
            answers[e.key_id] = WitnessResult(e.key.name, e.key_id, False, why, pending=quorum_in)
        return answers


def _result_of(future: Future[WitnessResult], endpoint: WitnessEndpoint) -> WitnessResult:
    """The answer of one witness; whatever went wrong while asking it fails that witness alone.

    ``ask`` turns every failure it foresees into a result. Anything else (a bug, an answer nobody
    thought of) must not end the round for the other witnesses: the quorum decides. Logged by the
    exception's type only: its message may quote what the witness sent."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - one witness's failure is a refusal, not the round's
        name, kid = endpoint.key.name, endpoint.key_id
        log.error("audit_witness_ask_failed", witness=name, key_id=kid, error=type(exc).__name__)
        return WitnessResult(name, kid, False, f"failed while asking it ({type(exc).__name__})")


def publish_checkpoint(
    vault: Vault,
    info: CheckpointInfo,
    *,
    witnesses: list[WitnessEndpoint] | None = None,
    quorum: int | None = None,
    timeout: float | None = None,
) -> Publication:
    """Ask every witness (in parallel) to cosign ``info``; store the cosignatures that verify.

    Returns once the quorum cosigned, or every witness answered, or the round's deadline passed."""
    settings = load_audit_settings()
    endpoints = configured_witnesses(settings) if witnesses is None else witnesses
    need = required_quorum(len(endpoints), settings) if quorum is None else quorum
    if not endpoints:
        return Publication(info.size, need)
    with queries.read_snapshot(vault.db) as conn:
        stored = stored_cosignatures(conn, info.size, info.note, endpoints)
        olds = {e.key_id: store.last_cosigned_size(conn, e.key_id) for e in endpoints}
    broken = {e.key_id for e in stored.broken}
    asker = _Asker(vault, info, timeout or settings.witness_timeout_seconds)
    todo = [e for e in endpoints if e.key_id not in stored.valid and e.key_id not in broken]
    answers = asker.ask_all(todo, olds, need - len(stored.valid))
    results: list[WitnessResult] = []
    for e in endpoints:
        if e.key_id in stored.valid:
            results.append(WitnessResult(e.key.name, e.key_id, True))
        elif e.key_id in broken:
            reason = rewritten_after_witnessing(e.key.name, info.size)
            log.error("audit_cosignature_broken", witness=e.key.name, key_id=e.key_id, size=info.size)
            results.append(WitnessResult(e.key.name, e.key_id, False, reason))
        else:
            results.append(answers[e.key_id])
    for result in results:
        if not result.cosigned:
            report = log.info if result.pending else log.warning
            report("audit_cosignature_missing", witness=result.name, size=info.size, reason=result.reason)
    return Publication(info.size, need, results)


def publish_latest(vault: Vault) -> Publication:
    """Sign a checkpoint over the log as it is now (if anything is new) and ask the witnesses."""
    return publish_checkpoint(vault, create_checkpoint(vault))


def cosigned_note(vault: Vault, info: CheckpointInfo, witnesses: list[WitnessEndpoint] | None = None) -> str:
    """The checkpoint note with the stored cosignatures of the configured witnesses appended (only
    those that verify over it)."""
    endpoints = configured_witnesses() if witnesses is None else witnesses
    with queries.read_snapshot(vault.db) as conn:
        stored = stored_cosignatures(conn, info.size, info.note, endpoints)
    return info.note + "".join(row.line for row in stored.valid.values())


def _published_size(conn: Connection, endpoints: list[WitnessEndpoint], quorum: int) -> int | None:
    """The largest checkpoint with the quorum of stored cosignatures — if they verify over its note."""
    size = store.published_sizes(conn, [e.key_id for e in endpoints], quorum)
    if size is None:
        return None
    row = queries.checkpoint_at(conn, size)
    if row is None or len(stored_cosignatures(conn, size, row.note, endpoints).valid) < quorum:
        return None
    return size


def _alert_problem(alert: dict[str, Any] | None, last_cosigned: int) -> str | None:
    """A refused re-base, while the witness has not cosigned anything after it."""
    if not alert or int(alert.get("cosigned_size", -1)) < last_cosigned:
        return None
    return (
        f"reported size {alert.get('reported_size')} below the size {alert.get('cosigned_size')} it "
        f"cosigned ({alert.get('at')}): its record was lost or rolled back"
    )


def _fork_size(conn: Connection, endpoint: WitnessEndpoint) -> int | None:
    """The checkpoint a witness holds that the vault lacks, until that witness cosigns (verifiably) one at
    least that large: it does so only over a proof that the log extends the checkpoint it holds."""
    held = (queries.get_meta(conn, _FORK_KEY + endpoint.key_id) or {}).get("witness_size")
    if not isinstance(held, int):
        return None
    last = store.last_cosigned_size(conn, endpoint.key_id)
    row = queries.checkpoint_at(conn, last) if held <= last else None
    return None if row and stored_cosignatures(conn, last, row.note, [endpoint]).valid else held


def fork_problems(conn: Connection, endpoints: Iterable[WitnessEndpoint]) -> dict[str, str]:
    """Per witness key id: why the log was cut back or forked after that witness saw it (standing)."""
    held = {e: _fork_size(conn, e) for e in endpoints}
    return {e.key_id: f"witness {e.key.name} " + _FORKED.format(s) for e, s in held.items() if s is not None}


def witness_status(vault: Vault, info: CheckpointInfo | None = None) -> dict[str, Any]:
    """For the integrity status: which witnesses cosigned the latest checkpoint, which did not, and
    each one's ``problem`` (a stored cosignature that no longer verifies, a cut log, a lost record)."""
    endpoints = configured_witnesses()
    quorum = required_quorum(len(endpoints))
    info = info or latest_checkpoint(vault)
    with queries.read_snapshot(vault.db) as conn:
        empty = StoredCosignatures(0, {}, [])
        stored = empty if info is None else stored_cosignatures(conn, info.size, info.note, endpoints)
        last = {e.key_id: store.last_cosigned_size(conn, e.key_id) for e in endpoints}
        alerts = {e.key_id: queries.get_meta(conn, _ALERT_KEY + e.key_id) for e in endpoints}
        forks = {e.key_id: _fork_size(conn, e) for e in endpoints}
        published_size = _published_size(conn, endpoints, quorum) if endpoints else None
    broken = {e.key_id for e in stored.broken}
    witnesses = []
    for e in endpoints:
        row = stored.valid.get(e.key_id)
        lost = _alert_problem(alerts[e.key_id], last[e.key_id])
        forked = None if forks[e.key_id] is None else _FORKED.format(forks[e.key_id])
        rewritten = rewritten_after_witnessing(e.key.name, stored.size) if e.key_id in broken else None
        kinds = {"rewritten": rewritten, "fork_or_cut": forked, "record_lost": lost}  # for the Dutch page
        kind = next((k for k, v in kinds.items() if v), None)
        problem = rewritten or forked or lost
        witnesses.append(
            {
                "name": e.key.name,
                "key_id": e.key_id,
                "cosigned": row is not None,
                "last_cosigned_size": last[e.key_id] or None,
                "cosigned_at": None if row is None else row.timestamp,
                "problem": problem,
                "problem_kind": kind,
                "fork_size": forks[e.key_id],  # the checkpoint it holds that the vault does not
            }
        )
    cosigned = sum(1 for w in witnesses if w["cosigned"])
    return {
        "configured": bool(endpoints),
        "quorum": quorum if endpoints else 0,
        "checkpoint_size": None if info is None else info.size,
        "published": bool(endpoints) and info is not None and cosigned >= quorum,
        "published_size": published_size,
        "witnesses": witnesses,
        "missing_cosignatures": [w["name"] for w in witnesses if not w["cosigned"]],
        "problems": [f"{w['name']}: {w['problem']}" for w in witnesses if w["problem"]],
    }
