"""Rewrap of N case keys per key provider against raw wrap+unwrap calls of the same provider, and start-up
time with each provider.

file and pkcs11: rewrap = the vault's `Keys.rewrap` (unwrap under v1, wrap under v2) in batches of 500;
raw = the same number of bare provider unwrap+wrap calls. openbao: rewrap = transit ``rewrap`` with
``batch_input`` (batches of 1,000); raw = ``decrypt`` + ``encrypt`` with ``batch_input`` of the same size.
SoftHSM2 and OpenBao (dev mode, in memory) are started here on loopback in a temporary directory and
stopped at the end. Every loop is bounded in count and time. Last line: one JSON object.

    .venv/bin/python bench/keys.py [--keys 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.keys.conftest import SOFTHSM_MODULE, start_bao, stop_bao
from vault.crypto.envelope import DEK_PURPOSE
from vault.crypto.keys import KekProvider, Keys, RewrapItem
from vault.crypto.providers import ProviderSpec, open_provider

BATCH = 500
TIME_LIMIT = 300.0  # seconds per measured loop


def _items(keys: Keys, n: int) -> list[RewrapItem]:
    raw = os.urandom(32)
    provider = keys.provider
    version = keys.current_version()
    many = getattr(provider, "wrap_many", None)
    if many is not None:
        wrapped = []
        for start in range(0, n, 1000):
            wrapped += many(
                [(raw, DEK_PURPOSE, f"case-{i}") for i in range(start, min(n, start + 1000))], version
            )
    else:
        wrapped = [
            provider.wrap(raw, purpose=DEK_PURPOSE, context_id=f"case-{i}", version=version) for i in range(n)
        ]
    return [RewrapItem(w, DEK_PURPOSE, f"case-{i}") for i, w in enumerate(wrapped)]


def _measure(provider: KekProvider, n: int) -> tuple[float, float]:
    keys = Keys(provider)
    items = _items(keys, n)
    keys.rotate()
    # raw: the provider's own unwrap + wrap, batched where the provider batches
    deadline = time.monotonic() + TIME_LIMIT
    started = time.perf_counter()
    done = 0
    unwrap_many = getattr(provider, "unwrap_many", None)
    wrap_many = getattr(provider, "wrap_many", None)
    for start in range(0, n, BATCH if unwrap_many is None else 1000):
        chunk = items[start : start + (BATCH if unwrap_many is None else 1000)]
        if unwrap_many is not None and wrap_many is not None:
            raws = unwrap_many(chunk)
            wrap_many(
                [(r, i.purpose, i.context_id) for r, i in zip(raws, chunk, strict=True)],
                keys.current_version(),
            )
        else:
            for item in chunk:
                raw = provider.unwrap(item.wrapped, purpose=item.purpose, context_id=item.context_id)
                provider.wrap(
                    raw, purpose=item.purpose, context_id=item.context_id, version=keys.current_version()
                )
        done += len(chunk)
        if time.monotonic() > deadline:
            break
    raw_rate = done / (time.perf_counter() - started)
    deadline = time.monotonic() + TIME_LIMIT
    started = time.perf_counter()
    done = 0
    step = BATCH if unwrap_many is None else 1000
    for start in range(0, n, step):
        keys.rewrap(items[start : start + step])
        done += len(items[start : start + step])
        if time.monotonic() > deadline:
            break
    rewrap_rate = done / (time.perf_counter() - started)
    return rewrap_rate, raw_rate


def _startup(spec: ProviderSpec) -> float:
    started = time.perf_counter()
    open_provider(spec).close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=100_000)
    args = parser.parse_args()
    n = max(1, min(args.keys, 1_000_000))
    out: dict[str, object] = {"bench": "keys", "keys": n}
    with tempfile.TemporaryDirectory(prefix="bench-keys-") as tmp:
        base = Path(tmp)
        file_spec = ProviderSpec("file", key_file=base / "keys.json", root_key_file=base / "root.key")
        provider = open_provider(file_spec, create_version=1)
        out["rewrap_per_s_file"], out["raw_per_s_file"] = _measure(provider, n)
        out["startup_s_file"] = _startup(file_spec)

        util = shutil.which("softhsm2-util")
        if util and SOFTHSM_MODULE.exists():
            (base / "tokens").mkdir()
            conf = base / "softhsm2.conf"
            conf.write_text(
                f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
            )
            os.environ["SOFTHSM2_CONF"] = str(conf)
            subprocess.run(
                [util, "--init-token", "--free", "--label", "bench", "--pin", "1234", "--so-pin", "5678"],
                check=True,
                capture_output=True,
                timeout=60,
            )
            hsm_spec = ProviderSpec("pkcs11", module=str(SOFTHSM_MODULE), token_label="bench", pin="1234")
            provider = open_provider(hsm_spec, create_version=1)
            out["rewrap_per_s_pkcs11"], out["raw_per_s_pkcs11"] = _measure(provider, n)
            provider.close()
            out["startup_s_pkcs11"] = _startup(hsm_spec)
        (base / "bao").mkdir()
        proc, bao = start_bao(base / "bao")
        try:
            bao_spec = ProviderSpec(
                "openbao", addr=bao.addr, token=bao.token, key_name=f"b{uuid.uuid4().hex[:8]}"
            )
            provider = open_provider(bao_spec, create_version=1)
            out["rewrap_per_s_openbao"], out["raw_per_s_openbao"] = _measure(provider, n)
            provider.close()
            out["startup_s_openbao"] = _startup(bao_spec)
        finally:
            stop_bao(proc)
    for kind in ("file", "pkcs11", "openbao"):
        if f"raw_per_s_{kind}" in out:
            out[f"ratio_{kind}"] = round(
                float(out[f"rewrap_per_s_{kind}"]) / float(out[f"raw_per_s_{kind}"]), 3
            )  # type: ignore[arg-type]
    out = {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}
    out["baseline"] = "raw unwrap+wrap calls of the same provider, same run"
    ratios = [v for k, v in out.items() if k.startswith("ratio_") and isinstance(v, float)]
    out["ratio"] = min(ratios) if ratios else None
    print(json.dumps(out))


if __name__ == "__main__":
    main()
