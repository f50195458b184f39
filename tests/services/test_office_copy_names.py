"""D22 (D8): account names Excel writes where no reader sees them go from a partner's copy — a pivot
cache's ``refreshedBy``, a scenario's ``user``, a shared workbook's personal custom views — and so do
printer settings (a driver's private data) with the sheet's link to them; the copy still opens in
LibreOffice."""

from __future__ import annotations

import pytest

from tests.services.test_office_copy import HEAD, REL, S, _entries, _package, _xlsx_parts, _xml
from tests.services.test_office_copy_opens import SOFFICE, Convert, _opened, convert
from vault.services.office_copy import strip_office

__all__ = ["convert"]  # the LibreOffice fixture, used here too

LIMIT = 1024 * 1024
NAMES = ("Karin Keten", "Mevrouw Toezicht", "Jan Melder", "PC-KKETEN")


def _xlsx_with_names() -> bytes:
    parts = _xlsx_parts()
    parts["xl/pivotCache/pivotCacheDefinition1.xml"] = (
        HEAD + f'<pivotCacheDefinition xmlns="{S}" refreshedBy="Karin Keten"'
        ' refreshedDate="45413.5" createdVersion="8" refreshedVersion="8" recordCount="0">'
        '<cacheSource type="worksheet"><worksheetSource ref="A1:A1" sheet="Blad1"/></cacheSource>'
        '<cacheFields count="1"><cacheField name="Cel" numFmtId="0"><sharedItems/></cacheField>'
        "</cacheFields></pivotCacheDefinition>"
    )
    sheet = parts["xl/worksheets/sheet1.xml"]
    workbook = parts["xl/workbook.xml"]
    rels = parts["xl/worksheets/_rels/sheet1.xml.rels"]
    assert isinstance(sheet, str)
    assert isinstance(workbook, str)
    assert isinstance(rels, str)
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(
        "<legacyDrawing",
        '<scenarios><scenario name="S1" count="1" user="Mevrouw Toezicht"><inputCells r="A1" val="1"/>'
        '</scenario></scenarios><pageSetup orientation="portrait" r:id="rId9"/><legacyDrawing',
    )
    parts["xl/workbook.xml"] = workbook.replace(
        "</workbook>",
        '<customWorkbookViews><customWorkbookView name="Jan Melder - Persoonlijke weergave"'
        ' guid="{0A1B2C3D-0000-0000-0000-000000000001}" personalView="1" windowWidth="800"'
        ' windowHeight="600" activeSheetId="1"/></customWorkbookViews></workbook>',
    )
    parts["xl/worksheets/_rels/sheet1.xml.rels"] = rels.replace(
        "</Relationships>",
        f'<Relationship Id="rId9" Type="{REL}printerSettings" '
        'Target="../printerSettings/printerSettings1.bin"/></Relationships>',
    )
    parts["xl/printerSettings/printerSettings1.bin"] = "\\\\PC-KKETEN\\Kleur".encode("utf-16-le") + bytes(200)
    return _package(parts)


def _text(data: bytes) -> bytes:
    return b"".join(_entries(data).values())


def test_d22_excel_account_names_and_printer_settings_go() -> None:
    original = _xlsx_with_names()
    for name in NAMES:
        assert name.encode() in _text(original) or name.encode("utf-16-le") in _text(original)
    copy = strip_office(original, limit=LIMIT)
    text = _text(copy)
    for name in NAMES:
        assert name.encode() not in text, name
        assert name.encode("utf-16-le") not in text, name
    assert "xl/printerSettings/printerSettings1.bin" not in _entries(copy)
    assert b"printerSettings" not in _entries(copy)["xl/worksheets/_rels/sheet1.xml.rels"]
    page_setup = _xml(copy, "xl/worksheets/sheet1.xml").find(f"{{{S}}}pageSetup")
    assert page_setup is not None
    assert page_setup.attrib == {"orientation": "portrait"}
    view = _xml(copy, "xl/workbook.xml").find(f".//{{{S}}}customWorkbookView")
    assert view is not None
    assert view.attrib["name"] == "Weergave 1"
    assert strip_office(copy, limit=LIMIT) == copy  # cleaning again changes nothing


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_d22_the_copy_without_names_and_printer_settings_still_opens(convert: Convert) -> None:
    copy = strip_office(_xlsx_with_names(), limit=LIMIT)
    opened = _opened(convert, {"kopie.xlsx": copy})
    assert set(opened) == {"kopie"}, "LibreOffice could not open the partner's copy"
