#!/usr/bin/env python3
"""Check a proof bundle or a whole audit export of a Veilig Thuis dossier vault, without the vault.

Needs Python 3.10+ and the ``cryptography`` package, nothing else: copy this one file to the auditor's
machine. Exit status 0 when everything checks out, 1 with a reason when it does not, 2 for bad usage.

    python3 verify_bundle.py BUNDLE.json --log-key VKEY [--origin ORIGIN] \\
        [--witness VKEY ...] [--quorum N]
    python3 verify_bundle.py --export EXPORT.json --checkpoint CHECKPOINT.txt --log-key VKEY ...

``--log-key`` is the vault's checkpoint verifier key (``vault audit key``); each ``--witness`` is a
witness's verifier key (``vault witness key``), obtained from the witness's operator, not from the
vault; ``--quorum`` (default: all given witnesses) is how many of them must have cosigned.

What is checked (see docs/audit.md):
* the keys: a small-order or non-canonical Ed25519 key is refused (exit 2), since a forged signature
  verifies under it; the same witness key given twice is refused too;
* the checkpoint note: UTF-8 text with no control character but the newline (a CR or an escape
  sequence could make a terminal show another origin than the one checked; what the tool prints of the
  note is escaped), a tree size of at most 2**64 - 1, as the vault and its witnesses read it; every
  signature line is by a given key and verifies (Ed25519 signed-note for
  the log, C2SP ``cosignature/v1`` for witnesses), the log signed it, the quorum of witnesses cosigned
  (counted by name and key id: two witnesses may share a name);
* bundle: the file is in its one canonical JSON form; each entry's hash is recomputed from its fields
  (``vault-audit-v1`` canonical encoding) and its RFC 9162 inclusion proof leads to the signed root;
* export: entries 1..n, the hash chain, each entry hash, and the Merkle root of the first ``size``
  entries equal to the checkpoint's root (entries after it are checked by the chain only).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import sys
from typing import Any, NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

BUNDLE_FORMAT = "vault-audit-proof-bundle/v1"
CANONICAL_FIELDS = (
    "seq",
    "occurred_at",
    "tag",
    "actor_id",
    "actor_role",
    "actor_org_id",
    "on_behalf_of",
    "access_point",
    "request_id",
    "case_id",
    "object_type",
    "object_id",
    "legal_basis",
    "purpose",
    "decision",
    "rule",
    "break_glass",
    "details",
    "prev_hash",
)
ENTRY_FIELDS = frozenset((*CANONICAL_FIELDS, "entry_hash"))
GENESIS_HASH = "0" * 64
_SIG_PREFIX = "\u2014 "
_HEX64 = re.compile(r"[0-9a-f]{64}")
_DECIMAL = re.compile(r"(?:0|[1-9][0-9]{0,19})")
# A tree size is a u64 (C2SP tlog-checkpoint), as the vault and every witness read it.
_MAX_SIZE = 2**64 - 1
# C0 controls but the newline, DEL, and the C1 controls: a CR or an escape sequence in a signed text lets
# two readers (or a terminal) see different lines. The vault and its witnesses refuse C0 and DEL; the C1
# range (0x9b is a one-character escape on some terminals) is refused here too, and no vault origin holds one.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
# Curve25519's field prime and the twisted Edwards constant d = -121665/121666 (RFC 8032 section 5.1).
_P = 2**255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


class Failed(Exception):
    """Verification failed; the message says why."""


def shown(text: str) -> str:
    """``text`` safe to print: every character that is not printable (controls, bidi and other format
    characters, line separators) and the backslash itself as an escape, so what the note says cannot move
    the cursor or rewrite what the auditor reads on a terminal."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "".join(out)


# --- keys and signatures ----------------------------------------------------------------------------


def _edwards_double(x: int, y: int) -> tuple[int, int]:
    t = _D * x * x * y * y % _P
    return 2 * x * y * pow(1 + t, _P - 2, _P) % _P, (y * y + x * x) * pow(1 - t, _P - 2, _P) % _P


def key_fault(public: bytes) -> str | None:
    """Why ``public`` is no usable Ed25519 public key, or None: the vault's check, without the vault.

    OpenSSL accepts small-order keys, and for those one forged signature (e.g. R the identity, S = 0)
    verifies for every message; ``vault/crypto/signing.py`` refuses them, and so does this tool.
    """
    encoded = int.from_bytes(public, "little")
    y, sign = encoded & ((1 << 255) - 1), encoded >> 255
    if len(public) != 32 or y >= _P:
        return "non-canonical"
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if v * x * x % _P != u:
        x = x * _SQRT_M1 % _P
        if v * x * x % _P != u:
            return "not a curve point"
    if x == 0 and sign:
        return "non-canonical"
    for _ in range(3):
        x, y = _edwards_double(x, y)
    return "small-order" if (x, y) == (0, 1) else None  # 8·P is the identity: a torsion point


def is_weak_public_key(public: bytes) -> bool:
    """True for a non-canonical, undecodable or small-order key (as the vault's check)."""
    return key_fault(public) is not None


class Key:
    def __init__(self, vkey: str, alg: int) -> None:
        name, _, rest = vkey.strip().partition("+")
        hex_id, _, encoded = rest.partition("+")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if not name or len(raw) != 33 or raw[0] != alg:
            raise ValueError(f"not a verifier key of type {alg:#04x}: {vkey!r}")
        self.name, self.alg, self.public = name, alg, raw[1:]
        self.key_id = hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + self.public).digest()[:4]
        if self.key_id.hex() != hex_id:
            raise ValueError(f"verifier key id does not match its name and key: {vkey!r}")
        # A key that is no curve point verifies nothing (as in the vault); a weak one would verify forgeries.
        fault = key_fault(self.public)
        if fault in ("small-order", "non-canonical"):
            raise ValueError(f"verifier key is a weak Ed25519 key ({fault}): {vkey!r}")
        self._usable = fault is None

    @property
    def label(self) -> str:
        """``name (key <id>)``: a witness as the quorum counts it (two may share a name)."""
        return f"{self.name} (key {self.key_id.hex()})"

    def verify(self, message: bytes, signature: bytes) -> bool:
        if not self._usable:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


def _b64decode(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Failed("malformed base64") from None
    if base64.b64encode(raw).decode() != text:
        raise Failed("non-canonical base64")
    return raw


def same_witness_twice(witnesses: list[Key]) -> str | None:
    """The witness given twice (same name and key id), or None.

    A cosignature line names its signer only by name and key id, so two such keys cannot be told
    apart and would count twice toward the quorum.
    """
    seen: set[tuple[str, bytes]] = set()
    for witness in witnesses:
        if (witness.name, witness.key_id) in seen:
            return witness.label
        seen.add((witness.name, witness.key_id))
    return None


def check_note(
    note: str, log_key: Key, witnesses: list[Key], quorum: int
) -> tuple[str, int, bytes, list[str]]:
    """(origin, size, root, witnesses that cosigned) of a checkpoint note, or ``Failed``.

    The quorum counts witnesses by name *and* key id: independent witnesses may share a name (the
    default of ``vault witness key`` is ``witness``).
    """
    twice = same_witness_twice(witnesses)
    if twice is not None:
        raise Failed(f"witness {twice} is given twice (same name and key id); give each witness once")
    if not isinstance(note, str) or "\n\n" not in note or not note.endswith("\n"):
        raise Failed("checkpoint note is malformed")
    try:
        note.encode("utf-8")
    except UnicodeEncodeError:
        raise Failed("checkpoint note is not valid text") from None
    control = _CONTROL.search(note)
    if control is not None:  # named escaped, never echoed raw
        line = note.count("\n", 0, control.start()) + 1
        raise Failed(f"checkpoint note holds a control character ({shown(control.group())} on line {line})")
    split = note.index("\n\n")
    text, block = note[: split + 1], note[split + 2 :]
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(line == "" for line in lines):
        raise Failed("checkpoint is malformed")
    origin, size_text, root_text = lines[:3]
    if _DECIMAL.fullmatch(size_text) is None or int(size_text) > _MAX_SIZE:
        raise Failed("checkpoint size is malformed (not a decimal of at most 2**64 - 1)")
    root = _b64decode(root_text)
    if len(root) != 32:
        raise Failed("checkpoint root hash is malformed")
    log_signed = False
    cosigned: set[tuple[str, bytes]] = set()
    for line in block[:-1].split("\n"):
        if not line.startswith(_SIG_PREFIX):
            raise Failed("checkpoint has a malformed signature line")
        name, _, encoded = line[len(_SIG_PREFIX) :].partition(" ")
        blob = _b64decode(encoded)
        if name == log_key.name and blob[:4] == log_key.key_id:
            if len(blob) != 68 or not log_key.verify(text.encode(), blob[4:]):
                raise Failed("the log's signature on the checkpoint does not verify")
            log_signed = True
            continue
        witness = next((w for w in witnesses if w.name == name and w.key_id == blob[:4]), None)
        if witness is None:
            raise Failed(f"checkpoint carries a signature by an unknown key ({shown(name)})")
        if len(blob) != 4 + 8 + 64:
            raise Failed(f"cosignature by {shown(name)} is malformed")
        timestamp = int.from_bytes(blob[4:12], "big")
        message = f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()
        if not 0 < timestamp < 2**63 or not witness.verify(message, blob[12:]):
            raise Failed(f"cosignature by {shown(name)} does not verify")
        cosigned.add((witness.name, witness.key_id))
    if not log_signed:
        raise Failed("checkpoint is not signed by the log's key")
    shared = {w.name for w in witnesses if sum(v.name == w.name for v in witnesses) > 1}
    labels = {(w.name, w.key_id): w.label if w.name in shared else w.name for w in witnesses}
    if len(cosigned) < quorum:
        missing = sorted(label for ident, label in labels.items() if ident not in cosigned)
        raise Failed(
            f"only {len(cosigned)} of {quorum} required witness cosignatures; missing: {', '.join(missing)}"
        )
    return origin, int(size_text), root, sorted(labels[ident] for ident in cosigned)


# --- entries and Merkle proofs ------------------------------------------------------------------------


def entry_hash(entry: dict[str, Any], *, lenient_bool: bool = False) -> str:
    doc = {}
    for name in CANONICAL_FIELDS:
        value = entry[name]
        if name == "break_glass":
            if lenient_bool and value in (0, 1):
                value = bool(value)
            if not isinstance(value, bool):
                raise Failed(f"entry {entry.get('seq')}: break_glass is not a boolean")
        doc[name] = value
    encoded = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    return hashlib.sha256(b"vault-audit-v1\n" + encoded).hexdigest()


def leaf_hash(entry_hash_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(entry_hash_hex)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def merkle_root(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    level = leaves
    while len(level) > 1:
        carry = level[-1] if len(level) % 2 else None
        level = [node_hash(a, b) for a, b in zip(level[0::2], level[1::2], strict=False)]
        if carry is not None:
            level.append(carry)
    return level[0]


def _checked_entry(entry: Any, *, lenient_bool: bool = False) -> dict[str, Any]:
    if not isinstance(entry, dict) or set(entry) != ENTRY_FIELDS:
        raise Failed("an entry does not have exactly the audit entry fields")
    seq = entry["seq"]
    if type(seq) is not int or seq < 1:
        raise Failed("an entry has an invalid sequence number")
    for name in ("entry_hash", "prev_hash"):
        if not isinstance(entry[name], str) or _HEX64.fullmatch(entry[name]) is None:
            raise Failed(f"entry {seq}: {name} is malformed")
    if entry_hash(entry, lenient_bool=lenient_bool) != entry["entry_hash"]:
        raise Failed(f"entry {seq}: its fields do not match its hash (altered)")
    return entry


# --- the two modes ------------------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object that names a key twice says two things at once (``json`` keeps the last value, other
    readers the first): refused, in a bundle and in an export alike."""
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise Failed("duplicate key in a JSON object")
    return dict(pairs)


def _reject_constant(name: str) -> NoReturn:
    raise Failed(f"bundle holds {name}")


def verify_bundle(raw: bytes, log_key: Key, witnesses: list[Key], quorum: int, origin: str | None) -> str:
    try:
        text = raw.decode("utf-8")
        bundle = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
        canonical = json.dumps(bundle, sort_keys=True, indent=1, ensure_ascii=True) + "\n"
    except RecursionError:
        raise Failed("bundle is nested too deeply") from None
    except (UnicodeError, ValueError):
        raise Failed("bundle is not valid JSON") from None
    if text != canonical:
        raise Failed("bundle is not in its canonical form (altered)")
    if not isinstance(bundle, dict) or set(bundle) != {"format", "subject", "checkpoint", "entries"}:
        raise Failed("bundle does not have the expected fields")
    if bundle["format"] != BUNDLE_FORMAT:
        raise Failed("not a vault audit proof bundle (v1)")
    cp_origin, size, root, cosigned = check_note(bundle["checkpoint"], log_key, witnesses, quorum)
    if origin is not None and cp_origin != origin:
        raise Failed(f"checkpoint is of log {cp_origin!r}, not {origin!r}")
    entries = bundle["entries"]
    subject = bundle["subject"]
    if not isinstance(entries, list) or not isinstance(subject, dict):
        raise Failed("bundle does not have the expected fields")
    seqs = []
    for item in entries:
        if not isinstance(item, dict) or set(item) != {"entry", "leaf_index", "inclusion_proof"}:
            raise Failed("a bundle entry does not have the expected fields")
        entry = _checked_entry(item["entry"])
        proof = item["inclusion_proof"]
        if item["leaf_index"] != entry["seq"] - 1 or type(item["leaf_index"]) is not int:
            raise Failed(f"entry {entry['seq']}: wrong leaf index")
        if not isinstance(proof, list) or not all(isinstance(p, str) for p in proof):
            raise Failed(f"entry {entry['seq']}: malformed inclusion proof")
        path = [_b64decode(p) for p in proof]
        if not verify_inclusion(leaf_hash(entry["entry_hash"]), entry["seq"] - 1, size, path, root):
            raise Failed(f"entry {entry['seq']}: inclusion proof does not lead to the signed root")
        seqs.append(entry["seq"])
    if seqs != sorted(set(seqs)):
        raise Failed("bundle entries are not in order or repeat")
    kind = subject.get("kind")
    if kind == "entry":
        if set(subject) != {"kind", "seq"} or seqs != [subject["seq"]]:
            raise Failed("bundle does not hold exactly the entry it names")
    elif kind == "access-report":
        if set(subject) != {"kind", "case_id"} or not isinstance(subject["case_id"], str):
            raise Failed("access-report bundle does not name its case")
        if any(item["entry"]["case_id"] != subject["case_id"] for item in entries):
            raise Failed("access-report bundle holds an entry of another case")
    else:
        raise Failed("bundle names an unknown subject")
    witnessed = f"cosigned by {', '.join(cosigned)}" if cosigned else "no witness cosignatures required"
    return f"OK: {len(seqs)} entries proven in {shown(cp_origin)} at size {size}; {witnessed}"


def verify_export(
    raw: bytes, note: str, log_key: Key, witnesses: list[Key], quorum: int, origin: str | None
) -> str:
    cp_origin, size, root, cosigned = check_note(note, log_key, witnesses, quorum)
    if origin is not None and cp_origin != origin:
        raise Failed(f"checkpoint is of log {cp_origin!r}, not {origin!r}")
    try:
        entries = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_reject_constant
        )
    except RecursionError:
        raise Failed("export is nested too deeply") from None
    except (UnicodeError, ValueError):
        raise Failed("export is not valid JSON") from None
    if not isinstance(entries, list):
        raise Failed("export is not a JSON array of entries")
    prev = GENESIS_HASH
    leaves: list[bytes] = []
    for expected, raw_entry in enumerate(entries, start=1):
        entry = _checked_entry(raw_entry, lenient_bool=True)
        if entry["seq"] != expected:
            raise Failed(f"export is not the whole log: entry {expected} is missing (found {entry['seq']})")
        if entry["prev_hash"] != prev:
            raise Failed(f"entry {expected}: hash chain broken")
        prev = entry["entry_hash"]
        if expected <= size:
            leaves.append(leaf_hash(prev))
    if len(leaves) < size:
        raise Failed(f"export holds {len(leaves)} entries, the checkpoint covers {size}")
    if merkle_root(leaves) != root:
        raise Failed(f"the Merkle root of entries 1..{size} differs from the signed root (altered)")
    witnessed = f"cosigned by {', '.join(cosigned)}" if cosigned else "no witness cosignatures required"
    after = len(entries) - size
    return (
        f"OK: entries 1..{size} match {shown(cp_origin)} at size {size}; {witnessed}; "
        f"{after} later entries checked by the hash chain only"
    )


def _verify(args: argparse.Namespace, log_key: Key, witnesses: list[Key], quorum: int) -> str:
    if args.bundle is not None:
        with open(args.bundle, "rb") as handle:
            return verify_bundle(handle.read(), log_key, witnesses, quorum, args.origin)
    with open(args.export, "rb") as handle, open(args.checkpoint, "rb") as cp:
        raw, raw_note = handle.read(), cp.read()
    try:
        note = raw_note.decode("utf-8")
    except UnicodeDecodeError:
        raise Failed("checkpoint file is not UTF-8 text") from None
    return verify_export(raw, note, log_key, witnesses, quorum, args.origin)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a vault audit proof bundle or export offline.")
    parser.add_argument("bundle", nargs="?", help="proof bundle (JSON)")
    parser.add_argument("--export", help="a whole JSON export (vault audit export --format json)")
    parser.add_argument("--checkpoint", help="the cosigned checkpoint note, for --export")
    parser.add_argument("--log-key", required=True, help="the vault's checkpoint verifier key")
    parser.add_argument("--witness", action="append", default=[], help="a witness verifier key (repeatable)")
    parser.add_argument("--quorum", type=int, help="witness cosignatures required (default: all given)")
    parser.add_argument("--origin", help="the log origin expected in the checkpoint")
    args = parser.parse_args(argv)
    try:
        log_key = Key(args.log_key, 0x01)
        witnesses = [Key(vkey, 0x04) for vkey in args.witness]
    except ValueError as exc:
        parser.error(str(exc))
    quorum = len(witnesses) if args.quorum is None else args.quorum
    if not 0 <= quorum <= len(witnesses):
        parser.error("--quorum must be between 0 and the number of --witness keys")
    if (args.bundle is None) == (args.export is None) or (args.export is not None) != (
        args.checkpoint is not None
    ):
        parser.error("give either BUNDLE, or --export with --checkpoint")
    twice = same_witness_twice(witnesses)
    if twice is not None:
        parser.error(f"--witness {twice} is given twice (same name and key id); give each witness once")
    try:
        message = _verify(args, log_key, witnesses, quorum)
    except Failed as exc:
        sys.stderr.write(f"FAILED: {exc}\n")
        return 1
    except OSError as exc:
        sys.stderr.write(f"FAILED: cannot read input: {exc.strerror or type(exc).__name__}\n")
        return 1
    except (RecursionError, ValueError) as exc:  # fail closed, in one line, on input nobody foresaw
        sys.stderr.write(f"FAILED: malformed input ({type(exc).__name__})\n")
        return 1
    sys.stdout.write(message + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
