"""A partner's Office copy opens in a real office suite and reads as the original does, less what
was taken out (D8, D22): LibreOffice, headless, writes Word, Excel and PowerPoint files with their
maker, comments and a tracked deletion, the vault cleans them, and LibreOffice opens the copies
again (saved as OpenDocument, which holds all it loaded). The hand-built packages of
``test_office_copy`` are opened the same way.

Needs Debian's ``libreoffice-{writer,calc,impress}-nogui`` (``soffice``); without it these tests
skip loudly, and with ``VAULT_REQUIRE_OFFICE=1`` (as CI sets) they fail instead.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from tests.services.test_office_copy import CUSTOM_XML, DOCX, PPTX, XLSX, _leaks
from vault.services.office_copy import strip_office

LIMIT = 16 * 1024 * 1024
SOFFICE = shutil.which("soffice")

if SOFFICE is None:
    message = (
        "LibreOffice (soffice) is not installed: apt-get install libreoffice-writer-nogui"
        " libreoffice-calc-nogui libreoffice-impress-nogui"
    )
    if os.environ.get("VAULT_REQUIRE_OFFICE") == "1":
        pytest.fail(message + " and VAULT_REQUIRE_OFFICE=1", pytrace=False)
    pytestmark = pytest.mark.skip(reason="!!! " + message + " !!!")

_OFFICE = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'office:version="1.3"'
)
_META = (
    "<office:meta><meta:initial-creator>Jan Melder</meta:initial-creator><dc:creator>Jan Melder</dc:creator>"
    "<dc:title>Melding Pietje Puk</dc:title><dc:description>Kanariestraat 12</dc:description></office:meta>"
)
_COMMENT = (
    "<office:annotation><dc:creator>Karin Keten</dc:creator><dc:date>2026-11-01T11:00:00</dc:date>"
    "<text:p>vermoedelijk dronken</text:p></office:annotation>"
)
_CHANGE = (
    "<office:change-info><dc:creator>Jan Melder</dc:creator>"
    "<dc:date>2026-11-01T10:00:00</dc:date></office:change-info>"
)
# Flat OpenDocument files that LibreOffice turns into the Office files under test: each has its
# maker and title, a comment by a colleague, and (the text) a tracked deletion of a name.
WRITTEN = {
    "docx": (
        "melding.fodt",
        "docx:MS Word 2007 XML",
        f'<office:document {_OFFICE} office:mimetype="application/vnd.oasis.opendocument.text">{_META}'
        "<office:body><office:text>"
        '<text:tracked-changes text:track-changes="true">'
        f'<text:changed-region text:id="ct1"><text:deletion>{_CHANGE}<text:p>Pietje Puk</text:p>'
        "</text:deletion></text:changed-region>"
        f'<text:changed-region text:id="ct2"><text:insertion>{_CHANGE}</text:insertion></text:changed-region>'
        "</text:tracked-changes>"
        '<text:p>Zichtbare tekst <text:change text:change-id="ct1"/><text:change-start text:change-id="ct2"/>'
        'ingevoegd<text:change-end text:change-id="ct2"/> einde.</text:p>'
        f"<text:p>Tweede alinea{_COMMENT}</text:p>"
        "</office:text></office:body></office:document>",
        ("Zichtbare tekst ingevoegd einde.", "Tweede alinea"),  # the paragraphs LibreOffice shows
    ),
    "xlsx": (
        "lijst.fods",
        "xlsx:Calc MS Excel 2007 XML",
        f'<office:document {_OFFICE} xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        f'office:mimetype="application/vnd.oasis.opendocument.spreadsheet">{_META}'
        '<office:body><office:spreadsheet><table:table table:name="Blad1"><table:table-row>'
        '<table:table-cell office:value-type="string"><text:p>Zichtbare cel</text:p>'
        f"{_COMMENT}</table:table-cell>"
        "</table:table-row></table:table></office:spreadsheet></office:body></office:document>",
        ("Zichtbare cel",),
    ),
    "pptx": (
        "dia.fodp",
        "pptx:Impress MS PowerPoint 2007 XML",
        f'<office:document {_OFFICE} xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
        'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
        'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
        'xmlns:officeooo="http://openoffice.org/2009/office" '
        f'office:mimetype="application/vnd.oasis.opendocument.presentation">{_META}'
        '<office:master-styles><style:master-page style:name="Standaard"/></office:master-styles>'
        '<office:body><office:presentation><draw:page draw:name="dia1" draw:master-page-name="Standaard">'
        '<draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm"><draw:text-box>'
        "<text:p>Zichtbare dia</text:p></draw:text-box></draw:frame>"
        + _COMMENT.replace("office:annotation", "officeooo:annotation").replace(
            "<officeooo:annotation>", '<officeooo:annotation svg:x="1cm" svg:y="1cm">'
        )
        + "</draw:page></office:presentation></office:body></office:document>",
        ("Zichtbare dia",),
    ),
}
OPENED_AS = {"docx": "odt", "xlsx": "ods", "pptx": "odp"}

Convert = Callable[[dict[str, bytes], str], dict[str, bytes]]


@pytest.fixture(scope="module")
def convert(tmp_path_factory: pytest.TempPathFactory) -> Convert:
    """``convert(files, target)``: LibreOffice opens each file and saves it as ``target``; the
    results by name. A file it cannot open has no result (it says "Error" and exits 0)."""
    work = tmp_path_factory.mktemp("libreoffice")
    profile = (work / "profile").as_uri()  # its own profile: parallel test workers never share one

    def run(files: dict[str, bytes], target: str) -> dict[str, bytes]:
        source, out = work / "in", work / "out"
        for folder in (source, out):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
        for name, data in files.items():
            (source / name).write_bytes(data)
        assert SOFFICE is not None
        command = [SOFFICE, "--headless", "--norestore", "--nolockcheck", f"-env:UserInstallation={profile}"]
        command += ["--convert-to", target, "--outdir", str(out), *(str(source / name) for name in files)]
        subprocess.run(command, capture_output=True, timeout=180, check=True)
        return {path.stem: path.read_bytes() for path in out.iterdir()}

    return run


@pytest.fixture(scope="module")
def written(convert: Convert) -> dict[str, bytes]:
    """The three Office files as LibreOffice writes them, by extension."""
    files: dict[str, bytes] = {}
    for kind, (name, target, body, _visible) in WRITTEN.items():
        made = convert({name: ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()}, target)
        files[kind] = made[Path(name).stem]
    return files


def _unpacked(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "\n".join(archive.read(info).decode("utf-8", "replace") for info in archive.infolist())


_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
# What LibreOffice keeps beside the text it shows: tracked changes (deleted text) and comments.
_NOT_SHOWN = frozenset(
    {
        _TEXT + "tracked-changes",
        "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}tracked-changes",
        "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}annotation",
        "{http://openoffice.org/2009/office}annotation",
    }
)


def _shown(element: etree._Element) -> str:
    parts = [element.text or ""]
    for child in element:
        if child.tag not in _NOT_SHOWN:
            parts.append(_shown(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _visible(opendocument: bytes) -> list[str]:
    """The paragraphs with text that LibreOffice shows of what it loaded (``content.xml``), without
    tracked changes and comments, which it keeps apart."""
    with zipfile.ZipFile(io.BytesIO(opendocument)) as archive:
        root = etree.fromstring(archive.read("content.xml"), etree.XMLParser(resolve_entities=False))
    shown = (
        _shown(paragraph)
        for paragraph in root.iter(_TEXT + "p", _TEXT + "h")
        if not any(ancestor.tag in _NOT_SHOWN for ancestor in paragraph.iterancestors())
    )
    return [text for text in shown if text]  # an emptied paragraph may stay (Word keeps one too)


def _opened(convert: Convert, copies: dict[str, bytes]) -> dict[str, bytes]:
    """Each copy (name -> bytes, the name's extension its kind) as LibreOffice opened it."""
    opened: dict[str, bytes] = {}
    for kind, target in OPENED_AS.items():
        batch = {name: data for name, data in copies.items() if name.endswith("." + kind)}
        if batch:
            opened |= convert(batch, target)
    return opened


@pytest.mark.parametrize("kind", sorted(WRITTEN))
def test_d8_d22_a_file_an_office_suite_wrote_loses_its_maker_comments_and_deletions_and_still_opens(
    convert: Convert, written: dict[str, bytes], kind: str
) -> None:
    original = written[kind]
    makers = {"Jan Melder", "Karin Keten", "vermoedelijk dronken", "Pietje Puk"}
    assert makers <= set(_leaks(_unpacked(original)))  # the office suite wrote them all
    copy = strip_office(original, limit=LIMIT)
    assert _leaks(_unpacked(copy)) == []
    opened = _opened(convert, {f"kopie.{kind}": copy})
    assert set(opened) == {"kopie"}, "LibreOffice could not open the partner's copy"
    assert _leaks(_unpacked(opened["kopie"])) == []  # nothing of it came back on loading either
    assert _visible(opened["kopie"]) == list(WRITTEN[kind][3])


def test_d22_the_hand_built_packages_open_and_show_what_the_originals_show(convert: Convert) -> None:
    originals = {"tekst.docx": DOCX, "blad.xlsx": XLSX, "dia.pptx": PPTX}
    originals |= {f"eigen-xml-{kind}.{kind}": data for kind, data in CUSTOM_XML.items()}
    copies = {"kopie-" + name: strip_office(data, limit=LIMIT) for name, data in originals.items()}
    opened = _opened(convert, originals | copies)
    assert set(opened) == {Path(name).stem for name in originals | copies}, "LibreOffice could not open each"
    for name in originals:
        stem = Path(name).stem
        assert _leaks(_unpacked(opened["kopie-" + stem])) == [], stem
        # The same paragraphs: the deletions LibreOffice keeps apart are gone, nothing else.
        assert _visible(opened["kopie-" + stem]) == _visible(opened[stem]), stem
    assert "Zichtbare tekst ingevoegdbesproken" in _visible(opened["kopie-tekst"])
    assert _visible(opened["kopie-tekst"]).count("Verhuisde zin") == 1  # moved once, not twice
    assert "Zichtbare cel" in _visible(opened["kopie-blad"])
    assert "Zichtbare dia" in _visible(opened["kopie-dia"])
