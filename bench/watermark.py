"""A partner's copy against copying the bytes unchanged: watermarking a PDF
(``vault.services.watermark.mark_pdf``), cleaning a phone photo (``image_copy.strip_jpeg``) and a Word
file (``office_copy.strip_office``).

The documents: a 50-page PDF made with fpdf2 (a page of text each, like a typed report); a 12-megapixel
JPEG with EXIF (GPS, maker) as a phone writes it; a Word file of 50 pages of text with comments and
tracked changes. "mark"/"clean" = what a partner's download adds; "copy" = the same bytes copied
unchanged (what a staff download costs beyond decryption). Target: median mark ≤ 100 ms (the photo
and the Word file are reported beside it). Every loop is bounded in count and time. Last line: one
JSON object.

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

import io
import zipfile

from fpdf import FPDF
from PIL import Image

from vault.services.image_copy import strip_jpeg
from vault.services.office_copy import strip_office
from vault.services.watermark import MAX_COPY_BYTES, mark_pdf, mark_text

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


def photo() -> bytes:
    """A 4000×3000 photo (noise: it compresses like a real one) with EXIF: place, maker, device."""
    image = Image.frombytes("RGB", (4000, 3000), bytes(range(256)) * (4000 * 3000 * 3 // 256))
    exif = Image.Exif()
    exif[0x013B] = "Jan Melder"  # Artist
    exif[0x8825] = {1: "N", 2: (52.0, 5.0, 26.52), 3: "E", 4: (5.0, 7.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def word_file(pages: int) -> bytes:
    """A Word file of ``pages`` pages of text (40 paragraphs each), every tenth with a tracked
    deletion and insertion, and a comment per page."""
    line = "Verslag huisbezoek: afspraken over veiligheid, school en opvang. "
    paragraphs = []
    for n in range(pages * 40):
        run = f"<w:r><w:t>{line}</w:t></w:r>"
        if n % 10 == 0:
            run += (
                f'<w:del w:id="{n}" w:author="Jan Melder" w:date="2026-12-01T09:00:00Z"><w:r>'
                f"<w:delText>Pietje Puk</w:delText></w:r></w:del>"
                f'<w:ins w:id="{n + 1}" w:author="Jan Melder"><w:r><w:t>de jongen</w:t></w:r></w:ins>'
            )
        paragraphs.append(f"<w:p>{run}</w:p>")
    head = '<?xml version="1.0" encoding="UTF-8"?>'
    document = f'{head}<w:document xmlns:w="{_W}"><w:body>{"".join(paragraphs)}</w:body></w:document>'
    comment = '<w:comment w:id="{}" w:author="Jan Melder"><w:p><w:r><w:t>bel de melder</w:t></w:r></w:p>'
    comment += "</w:comment>"
    comments = "".join(comment.format(n) for n in range(pages))
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/></Types>'
        ),
        "word/document.xml": document,
        "word/comments.xml": f'{head}<w:comments xmlns:w="{_W}">{comments}</w:comments>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in parts.items():
            archive.writestr(name, body)
    return out.getvalue()


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
    jpeg, docx = photo(), word_file(args.pages)
    assert b"Jan Melder" in jpeg
    assert b"Jan Melder" not in strip_jpeg(jpeg)
    assert len(strip_office(docx, limit=MAX_COPY_BYTES)) < len(docx)
    mark_ms = timed(lambda: mark_pdf(data, text), args.runs)
    copy_ms = timed(lambda: bytes(bytearray(data)), args.runs)
    photo_ms = timed(lambda: strip_jpeg(jpeg), args.runs)
    office_ms = timed(lambda: strip_office(docx, limit=MAX_COPY_BYTES), args.runs)
    median = statistics.median(mark_ms)
    copy_median = statistics.median(copy_ms)
    print(f"{args.pages} pages, {len(data)} bytes → {len(marked)} bytes marked")
    print(f"mark: median {median:.2f} ms over {len(mark_ms)} runs; copy: median {copy_median:.4f} ms")
    print(f"photo {len(jpeg)} bytes: clean median {statistics.median(photo_ms):.2f} ms")
    print(f"Word file {len(docx)} bytes: clean median {statistics.median(office_ms):.2f} ms")
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
                "photo_bytes": len(jpeg),
                "photo_median_ms": round(statistics.median(photo_ms), 3),
                "office_bytes": len(docx),
                "office_median_ms": round(statistics.median(office_ms), 3),
                "target_ms": TARGET_MS,
                "within_target": median <= TARGET_MS,
            }
        )
    )


if __name__ == "__main__":
    main()
