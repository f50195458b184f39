"""Watermarking a partner's PDF (``vault.services.watermark.mark_pdf``) against copying it unchanged.

The document: a 50-page PDF made with fpdf2 (a page of text each, like a typed report). "mark" = open,
add the recipient's line to every page and the document information, save — what a partner's download
adds; "copy" = the same bytes copied unchanged (what a staff download costs beyond decryption). Target:
median mark ≤ 100 ms. Every loop is bounded in count and time. Last line: one JSON object.

    .venv/bin/python bench/watermark.py [--pages 50] [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fpdf import FPDF

from vault.services.watermark import mark_pdf, mark_text

TIME_LIMIT = 60.0  # seconds per measured loop
TARGET_MS = 100.0


def document(pages: int) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    line = "Verslag huisbezoek: afspraken over veiligheid, school en opvang. "
    for n in range(pages):
        pdf.add_page()
        pdf.cell(0, 8, f"Pagina {n + 1}", new_x="LMARGIN", new_y="NEXT")
        for _ in range(40):
            pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def timed(run: Callable[[], object], runs: int) -> list[float]:
    times: list[float] = []
    deadline = time.monotonic() + TIME_LIMIT
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
        if time.monotonic() > deadline:
            break
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    data = document(args.pages)
    text = mark_text("Lokaal team Noord", datetime.now(UTC), "VT-1A2B-3C4D")
    marked = mark_pdf(data, text)  # warm-up, and a check that it did something
    assert len(marked) > len(data)
    mark_ms = timed(lambda: mark_pdf(data, text), args.runs)
    copy_ms = timed(lambda: bytes(bytearray(data)), args.runs)
    median = statistics.median(mark_ms)
    copy_median = statistics.median(copy_ms)
    print(f"{args.pages} pages, {len(data)} bytes → {len(marked)} bytes marked")
    print(f"mark: median {median:.2f} ms over {len(mark_ms)} runs; copy: median {copy_median:.4f} ms")
    print(
        json.dumps(
            {
                "pages": args.pages,
                "bytes": len(data),
                "runs": len(mark_ms),
                "median_ms": round(median, 3),
                "p95_ms": round(sorted(mark_ms)[int(0.95 * (len(mark_ms) - 1))], 3),
                "copy_median_ms": round(copy_median, 4),
                "ratio": round(median / copy_median, 1) if copy_median > 0 else None,
                "target_ms": TARGET_MS,
                "within_target": median <= TARGET_MS,
            }
        )
    )


if __name__ == "__main__":
    main()
