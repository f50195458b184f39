"""A partner's PDF copy keeps its pages and nothing hung on them that a reader does not see (D8, D22).

PDF 2.0 hangs associated files (/AF) on pages, annotations, pictures, forms, structure elements and
marked content, not only on the catalogue (ISO 32000-2 §14.13); a file specification's embedded file
may sit behind an action or a media clip; a page's thumbnail (/Thumb) shows the page as it was, maybe
before redaction; a redaction mark (/Redact) not yet applied leaves the text under it on the page
(such a PDF is refused); a sound annotation holds a recording. The copy keeps comments without
their authors and text, links, form fields and printing marks, and no other annotation.
"""

from __future__ import annotations

import io

import pikepdf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pikepdf import Array, Dictionary, Name, Pdf, String

from vault.errors import InvalidInput
from vault.services.watermark import UNAPPLIED_REDACTION, mark_pdf

SECRET = b"Origineel ongeredigeerd: melder Kanarie Jansen, 06-12345678"
AUTHOR = "Kanarie Jansen"
MARK = "Verstrekt aan Lokaal Team op 01-01-2026, kenmerk VT-AAAA-BBBB, niet verder verspreiden"


def _readable(data: bytes) -> bytes:
    """Every object of a PDF and every stream decoded: what anyone who opens the file can read."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        out = io.BytesIO()
        pdf.save(out, qdf=True, object_stream_mode=pikepdf.ObjectStreamMode.disable, compress_streams=False)
        parts = [out.getvalue()]
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream):
                try:
                    parts.append(obj.read_bytes())
                except pikepdf.PdfError:
                    parts.append(obj.read_raw_bytes())
        return b"\n".join(parts)


def _saved(pdf: Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def _file_spec(pdf: Pdf, *, direct: bool = False) -> pikepdf.Object:
    embedded = pdf.make_stream(SECRET)
    embedded.Type = Name.EmbeddedFile
    spec = Dictionary(
        Type=Name.Filespec,
        F=String("origineel.txt"),
        UF=String("origineel.txt"),
        EF=Dictionary(F=embedded),
        AFRelationship=Name.Source,
    )
    return spec if direct else pdf.make_indirect(spec)


def _page_pdf(pages: int = 1) -> Pdf:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
    return pdf


def _holder(pdf: Pdf, where: str) -> pikepdf.Object:
    """An object of the kind ``where`` names, on the first page, to hang an associated file on."""
    page = pdf.pages[0]
    if where == "page":
        return page.obj
    if "/Resources" not in page.obj:
        page.obj.Resources = Dictionary()
    resources = page.obj.Resources
    if "/XObject" not in resources:
        resources.XObject = Dictionary()
    if where == "image":
        image = pdf.make_stream(b"\x80", Type=Name.XObject, Subtype=Name.Image, Width=1, Height=1)
        image.BitsPerComponent, image.ColorSpace = 8, Name.DeviceGray
        resources.XObject.Im0 = image
        page.contents_add(pdf.make_stream(b"q 10 0 0 10 0 0 cm /Im0 Do Q"))
        return image
    if where == "form":
        form = pdf.make_stream(b"0 0 m 1 1 l S", Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, 1, 1])
        resources.XObject.Fm0 = form
        page.contents_add(pdf.make_stream(b"/Fm0 Do"))
        return form
    if where == "marked-content":  # a property list written straight into the page's resources
        resources.Properties = Dictionary(MC0=Dictionary())
        page.contents_add(pdf.make_stream(b"/Span /MC0 BDC EMC"))
        holder: pikepdf.Object = resources.Properties.MC0
        return holder
    if where == "structure":
        element = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Figure, Pg=page.obj))
        pdf.Root.StructTreeRoot = pdf.make_indirect(Dictionary(Type=Name.StructTreeRoot, K=element))
        element.P = pdf.Root.StructTreeRoot
        return element
    annotation = Dictionary(Type=Name.Annot, Subtype=Name(where), Rect=[72, 700, 300, 720])
    page.obj.Annots = Array([annotation])  # an annotation written straight into the page's list
    holder = page.obj.Annots[0]
    return holder


_WHERE = ["page", "image", "form", "marked-content", "structure", "/Link", "/Square", "/Widget", "/Stamp"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(_WHERE), min_size=1, max_size=4, unique=True), st.booleans())
def test_d8_d22_an_associated_file_wherever_it_hangs_never_reaches_the_partner(
    places: list[str], direct: bool
) -> None:
    pdf = _page_pdf()
    for where in places:
        holder = _holder(pdf, where)
        holder.AF = Array([_file_spec(pdf, direct=direct)])
    original = _saved(pdf)
    assert SECRET in original
    copy = mark_pdf(original, MARK)
    assert SECRET not in _readable(copy)
    with pikepdf.open(io.BytesIO(copy)) as marked:
        assert not [o for o in marked.objects if isinstance(o, Dictionary | pikepdf.Stream) and "/AF" in o]
        assert len(marked.pages) == 1


@pytest.mark.parametrize(
    "action",
    [
        lambda spec: Dictionary(S=Name.GoToE, D=Array([0, Name.Fit]), T=Dictionary(R=Name.C, N=String("x"))),
        lambda spec: Dictionary(S=Name.Launch, F=spec),
        lambda spec: Dictionary(S=Name.GoToR, F=spec, D=Array([0, Name.Fit])),
    ],
)
def test_d8_d22_a_file_behind_a_links_action_never_reaches_the_partner(action: object) -> None:
    assert callable(action)
    pdf = _page_pdf()
    spec = _file_spec(pdf)
    link = Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[72, 700, 300, 720], A=action(spec))
    link.A.F = spec
    pdf.pages[0].obj.Annots = Array([pdf.make_indirect(link)])
    copy = mark_pdf(_saved(pdf), MARK)
    assert SECRET not in _readable(copy)
    with pikepdf.open(io.BytesIO(copy)) as marked:
        (kept,) = marked.pages[0].obj.Annots  # the link still works as a link
        assert kept.Subtype == Name.Link


def test_d8_d22_no_pages_thumbnail_reaches_the_partner() -> None:
    pdf = _page_pdf(pages=3)
    for page in pdf.pages:
        thumb = pdf.make_stream(SECRET, Width=len(SECRET), Height=1, BitsPerComponent=8)
        thumb.ColorSpace = Name.DeviceGray
        page.obj.Thumb = thumb
    copy = mark_pdf(_saved(pdf), MARK)
    assert SECRET not in _readable(copy)
    with pikepdf.open(io.BytesIO(copy)) as marked:
        assert all("/Thumb" not in page.obj for page in marked.pages)


_COMMENTS: list[str | None] = [
    "/Text", "/FreeText", "/Line", "/Square", "/Circle", "/Polygon", "/PolyLine", "/Highlight",
    "/Underline", "/Squiggly", "/StrikeOut", "/Stamp", "/Caret", "/Ink", "/Projection",
]  # fmt: skip
_OTHERS_KEPT: list[str | None] = ["/Link", "/Widget", "/PrinterMark", "/TrapNet", "/Watermark"]
_DROPPED: list[str | None] = [
    "/FileAttachment",
    "/Sound",
    "/Movie",
    "/Screen",
    "/RichMedia",
    "/3D",
    "/Popup",
    "/Unknown",
    None,
]


@pytest.mark.parametrize("subtype", _COMMENTS + _OTHERS_KEPT + _DROPPED)
def test_d22_a_comments_author_and_text_and_every_annotation_a_page_does_not_show_are_gone(
    subtype: str | None,
) -> None:
    """An allowlist: comments lose who wrote them and what they say, links,
    form fields and printing marks stay, every other kind goes (a file, a recording, a movie …)."""
    pdf = _page_pdf()
    annotation = Dictionary(
        Type=Name.Annot,
        Rect=[72, 700, 300, 720],
        T=String(AUTHOR),
        Contents=String(f"naam melder {AUTHOR} weglakken"),
        RC=String(f"<body>{AUTHOR}</body>"),
        Subj=String(AUTHOR),
        OverlayText=String(AUTHOR),
        CreationDate=String("D:20261201090000+01'00'"),
        NM=String(AUTHOR),
    )
    if subtype is not None:
        annotation.Subtype = Name(subtype)
    if subtype == "/Sound":
        annotation.Sound = pdf.make_stream(SECRET, Type=Name.Sound, R=8000)
    if subtype == "/FileAttachment":
        annotation.FS = _file_spec(pdf)
    pdf.pages[0].obj.Annots = Array([pdf.make_indirect(annotation)])
    copy = mark_pdf(_saved(pdf), MARK)
    assert SECRET not in _readable(copy)
    with pikepdf.open(io.BytesIO(copy)) as marked:
        kept = list(marked.pages[0].obj.get("/Annots", Array()))
    if subtype in _DROPPED:
        assert kept == []
        assert AUTHOR.encode() not in _readable(copy)
    elif subtype in _COMMENTS:
        assert subtype is not None
        (comment,) = kept
        assert comment.Subtype == Name(subtype)
        assert AUTHOR.encode() not in _readable(copy)
    else:
        assert subtype is not None
        (other,) = kept
        assert other.Subtype == Name(subtype)


def test_d22_a_portfolio_loses_its_files_and_their_list() -> None:
    pdf = _page_pdf()
    pdf.attachments["origineel.txt"] = pikepdf.AttachedFileSpec(pdf, SECRET, description=AUTHOR)
    pdf.Root.Collection = Dictionary(Type=Name.Collection, D=String("origineel.txt"))
    copy = mark_pdf(_saved(pdf), MARK)
    assert SECRET not in _readable(copy)
    with pikepdf.open(io.BytesIO(copy)) as marked:
        assert "/Collection" not in marked.Root
        assert len(marked.attachments) == 0


def test_d8_d22_an_annotation_that_goes_keeps_nothing_where_the_structure_tree_still_points_at_it() -> None:
    """A tagged PDF points at its annotations from the structure tree (OBJR): a recording and its
    author go even so, and a link's sound action loses its recording."""
    pdf = _page_pdf()
    page = pdf.pages[0].obj
    sound = pdf.make_indirect(
        Dictionary(
            Type=Name.Annot,
            Subtype=Name.Sound,
            Rect=[72, 700, 90, 720],
            T=String(AUTHOR),
            Contents=String(AUTHOR),
            Sound=pdf.make_stream(SECRET, Type=Name.Sound, R=8000),
        )
    )
    action = Dictionary(S=Name.Sound, Sound=pdf.make_stream(SECRET + b" (link)", R=8000))
    link = pdf.make_indirect(
        Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[72, 600, 90, 620], A=action)
    )
    page.Annots = Array([sound, link])
    element = pdf.make_indirect(
        Dictionary(
            Type=Name.StructElem, S=Name.Annot, Pg=page, K=Dictionary(Type=Name.OBJR, Obj=sound, Pg=page)
        )
    )
    pdf.Root.StructTreeRoot = pdf.make_indirect(Dictionary(Type=Name.StructTreeRoot, K=element))
    element.P = pdf.Root.StructTreeRoot
    copy = mark_pdf(_saved(pdf), MARK)
    assert SECRET not in _readable(copy)
    assert AUTHOR.encode() not in _readable(copy)
    with pikepdf.open(io.BytesIO(copy)) as marked:
        (kept,) = marked.pages[0].obj.Annots
        assert kept.Subtype == Name.Link


def test_d22_a_pdf_with_a_redaction_marked_but_not_applied_is_refused() -> None:
    """The text under a /Redact mark is still on the page (selectable, searchable): the very thing
    someone meant to hide. Such a PDF is no partner's copy until the redaction is applied."""
    pdf = _page_pdf()
    annotation = Dictionary(Type=Name.Annot, Subtype=Name("/Redact"), Rect=[72, 700, 300, 720])
    pdf.pages[0].obj.Annots = Array([pdf.make_indirect(annotation)])
    with pytest.raises(InvalidInput) as refused:
        mark_pdf(_saved(pdf), MARK)
    assert refused.value.message == UNAPPLIED_REDACTION
