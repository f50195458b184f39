"""Where the recipient line of a partner's PDF goes, and the state it is drawn in (``watermark``).

A reader shows and prints only a page's CropBox within its MediaBox: a cropped scan has a CropBox well
inside the paper, so the line goes at the foot of that box (``visible_box``). The page's own content
can leave its graphics state changed for what follows it — a ``q`` never closed after a clipping path,
an invisible text mode or a transparent graphics state, a ``Q`` too many that pops the state saved
around it, a text object or marked content (a hidden layer) never ended — so the content is wrapped in
as many saves as it can restore and closed after, and the line is drawn in the state a page starts
in. A page whose content swallows what follows it (an unterminated string, array or inline image) is
found by reading the page, the line after it, as a reader does; such a PDF is refused (``UNMARKABLE``),
never sent with a line nobody sees (``place``).
"""

from __future__ import annotations

from collections.abc import Callable

import pikepdf

from vault.errors import InvalidInput

__all__ = ["UNMARKABLE", "place", "visible_box"]

UNMARKABLE = "this PDF's pages cannot carry their recipient visibly: share it again as PDF"


def _instructions(page: pikepdf.Page) -> list[pikepdf.ContentStreamInstruction]:
    try:
        found = pikepdf.parse_content_stream(page, _OPERATORS)
    except (pikepdf.PdfError, ValueError):
        raise InvalidInput(UNMARKABLE) from None
    return [i for i in found if isinstance(i, pikepdf.ContentStreamInstruction)]


# The instructions of the line (``watermark.mark_pdf``): q BT Tf rg Td Tj ET Q; and the operators read.
_MARK = ("q", "BT", "Tf", "rg", "Td", "Tj", "ET", "Q")
_OPERATORS = " ".join({*_MARK, "BDC", "BMC", "EMC"})


def place(page: pikepdf.Page, mark: bytes, shown: bytes, stream: Callable[[bytes], pikepdf.Stream]) -> None:
    """Draw ``mark`` (the line's content, showing ``shown``) after the page's content, in the state a
    page starts in. The page is read once, the line already after its content, as a reader reads it:
    when the line is not its last instructions, the content swallows what follows it (an unterminated
    string, array or inline image) and the PDF is refused. Then the content is wrapped in as many
    ``q`` as its ``Q`` can undo, and what it left open is closed before the line (``_closing``)."""
    page.contents_add(stream(b"\n" + mark), prepend=False)
    found = _instructions(page)
    tail = found[-len(_MARK) :]
    if [str(i.operator) for i in tail] != list(_MARK) or bytes(tail[5].operands[0]) != shown:
        raise InvalidInput(UNMARKABLE)
    saves, closing = _closing(found[: -len(_MARK)])
    contents = page.obj.Contents
    if isinstance(contents, pikepdf.Array):
        contents[len(contents) - 1] = stream(b"\n" + closing + mark)
    else:
        page.obj.Contents = stream(b"\n" + closing + mark)
    page.contents_add(stream(b"q\n" * saves), prepend=True)


def _closing(content: list[pikepdf.ContentStreamInstruction]) -> tuple[int, bytes]:
    """How many ``q`` go before ``content`` so that none of its ``Q`` reaches past them, and what ends
    what it left open (a text object, marked content such as a hidden layer, saved states): whatever it
    set (a clip, an invisible text mode, a transparent graphics state) is undone before the line."""
    depth = lowest = marked = 0
    in_text = False
    for instruction in content:
        op = str(instruction.operator)
        if op in ("q", "Q"):
            depth += 1 if op == "q" else -1
            lowest = min(lowest, depth)
        elif op in ("BDC", "BMC", "EMC"):
            marked = marked + 1 if op != "EMC" else max(0, marked - 1)
        elif op in ("BT", "ET"):
            in_text = op == "BT"
    saves = 1 - lowest
    return saves, b"ET\n" * in_text + b"EMC\n" * marked + b"Q\n" * (saves + depth)


def visible_box(page: pikepdf.Page) -> tuple[float, float, float, float]:
    """What a reader shows and prints of the page: its CropBox (a cropped scan) within its MediaBox."""
    try:
        media, crop = (_sorted_box(box) for box in (page.mediabox, page.cropbox))
    except (TypeError, ValueError, IndexError):
        return _sorted_box(page.mediabox)
    box = (max(media[0], crop[0]), max(media[1], crop[1]), min(media[2], crop[2]), min(media[3], crop[3]))
    return box if box[0] < box[2] and box[1] < box[3] else media


def _sorted_box(box: pikepdf.Array) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in box)
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)
