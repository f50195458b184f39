"""D10 (availability), D22: one partner's Office copy unpacks at most its limit, every embedded package
at every level counted against the same budget, refused with a reason (``InvalidInput``, 400) rather
than inflated and parsed many times over; an XML part over ``MAX_XML_PART`` is refused before it is
inflated (lxml holds about twenty times a part's size)."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.services.test_office_copy import HEAD, S, _docx_parts, _entries, _package
from vault.errors import InvalidInput
from vault.services.office_copy import MAX_XML_PART, strip_office

LIMIT = 1024 * 1024
_TYPES = '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'


def _inflating_package(size: int) -> bytes:
    """A small Office package whose one XML part inflates to about ``size`` bytes."""
    body = f'<worksheet xmlns="{S}">'.encode() + b" " * size + b"</worksheet>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", HEAD + _TYPES)
        archive.writestr("xl/worksheets/sheet1.xml", body)
    return buffer.getvalue()


def _docx_embedding(count: int, package: bytes) -> bytes:
    parts = _docx_parts()
    for n in range(count):
        parts[f"word/embeddings/Microsoft_Excel_Worksheet{n}.xlsx"] = package
    return _package(parts)


def test_d10_many_embedded_packages_share_one_unpacked_limit() -> None:
    """A Word file of a few kilobytes holding twenty workbooks, each inflating to just under the
    limit, was unpacked and parsed twenty times the limit (the limit started afresh in each)."""
    bomb = _docx_embedding(20, _inflating_package(LIMIT - 4096))
    assert len(bomb) < LIMIT // 4
    with pytest.raises(InvalidInput, match="embedded files included") as refusal:
        strip_office(bomb, limit=LIMIT)
    assert "Microsoft_Excel" not in str(refusal.value)  # no entry name in the reason


def test_d10_the_budget_holds_over_two_levels_of_nesting() -> None:
    inner = _inflating_package(LIMIT // 3)
    middle = _package(
        {"[Content_Types].xml": HEAD + _TYPES, "xl/embeddings/a.xlsx": inner, "xl/embeddings/b.xlsx": inner}
    )
    with pytest.raises(InvalidInput, match="embedded files included"):
        strip_office(_docx_embedding(2, middle), limit=LIMIT)


def test_embedded_packages_within_the_budget_are_cleaned() -> None:
    copy = _entries(strip_office(_docx_embedding(3, _inflating_package(LIMIT // 8)), limit=LIMIT))
    assert "word/embeddings/Microsoft_Excel_Worksheet2.xlsx" in copy


def test_packages_nested_more_than_two_levels_deep_are_refused() -> None:
    package = _inflating_package(10)
    for _ in range(3):
        package = _package({"[Content_Types].xml": HEAD + _TYPES, "xl/embeddings/x.xlsx": package})
    with pytest.raises(InvalidInput, match="too deeply"):
        strip_office(package, limit=LIMIT)


def test_d10_an_xml_part_over_its_cap_is_refused_before_it_is_parsed() -> None:
    """The declared size decides (a lie is caught while inflating: at most the declared size)."""
    big = _inflating_package(MAX_XML_PART + 1)
    with pytest.raises(InvalidInput, match="XML part of an Office file") as refusal:
        strip_office(big, limit=4 * MAX_XML_PART)
    assert "sheet1" not in str(refusal.value)
