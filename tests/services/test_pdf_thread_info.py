"""D22 (D8): what a PDF says about itself outside its document information goes from a partner's copy
too: an article thread's information dictionary (ISO 32000 §12.4.3: Title, Author … as the document
information; layout programs write one per article), web-capture information (``/SpiderInfo``) and
trailer keys beyond the ones a PDF needs. The threads and their beads stay."""

from __future__ import annotations

import io

import pikepdf
from pikepdf import Array, Dictionary, Name, Pdf, String

from vault.services.watermark import mark_pdf


def _pdf_with_thread_spider_info_and_trailer_key() -> bytes:
    pdf = Pdf.new()
    pdf.add_blank_page()
    page = pdf.pages[0]
    bead = pdf.make_indirect(Dictionary(Type=Name("/Bead"), P=page.obj, R=Array([0, 0, 10, 10])))
    info = Dictionary(Title=String("Gesprek met buurvrouw Kanarie"), Author=String("Jan Melder"))
    thread = pdf.make_indirect(Dictionary(Type=Name("/Thread"), F=bead, I=info))
    bead.T, bead.N, bead.V = thread, bead, bead
    page.obj.B = Array([bead])
    pdf.Root.Threads = Array([thread])
    pdf.Root.SpiderInfo = Dictionary(V=1.0, C=Array([Dictionary(CT=String("Karin Keten"))]))
    pdf.trailer.VTNotitie = String("Pietje Puk")
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_d22_a_threads_information_spider_info_and_unknown_trailer_keys_go() -> None:
    original = _pdf_with_thread_spider_info_and_trailer_key()
    for name in (b"Jan Melder", b"Karin Keten", b"Pietje Puk"):
        assert name in original
    copy = mark_pdf(original, "Verstrekt aan Wijkteam")
    for name in (b"Jan Melder", b"Karin Keten", b"Pietje Puk", b"Kanarie"):
        assert name not in copy, name
    with pikepdf.open(io.BytesIO(copy)) as marked:
        threads = marked.Root.Threads
        assert len(threads) == 1
        assert "/I" not in threads[0]
        assert threads[0] == marked.pages[0].obj.B[0].T
        assert "/SpiderInfo" not in marked.Root
        assert "/VTNotitie" not in marked.trailer
