"""A partner's copy of a Word, Excel or PowerPoint file (Office Open XML): the visible content, without
what the file says about its makers.

The PDF counterpart is ``watermark._strip_metadata``. An Office file carries more: the author and
"last modified by", the company, comment authors and comment text, tracked deletions (a name
"removed" with track changes on is still in the file), the list of reviewers with their e-mail
addresses, custom properties and a thumbnail that may show an earlier, unredacted first page. Free
text written by staff can name people (D22) and a leaked reporter's name can put a family in danger
(D8), so ``strip_office`` rewrites the package for a partner:

- ``docProps``: core properties become an empty ``cp:coreProperties``; of the extended properties
  only ``Application``, ``AppVersion`` and ``DocSecurity`` stay (``Company``, ``Manager``,
  ``Template``, ``TitlesOfParts``, ``HLinks`` … go); custom properties are emptied; thumbnails
  (``docProps/thumbnail.*`` and any other target of a thumbnail relationship only) are dropped with
  their relationships and ``Override`` entries (``Default`` entries stay).
- Digital signatures (``_xmlsignatures/`` and every target of a ``digital-signature``
  relationship): the signer's certificate, name and comments (D8); a changed copy cannot keep a valid
  signature anyway.
- Custom XML data, as Word's Document Inspector removes it: a file that passed through SharePoint,
  OneDrive or Teams keeps the library's columns there (person fields: display names, account ids,
  e-mail addresses). Everything under ``customXml/`` and every target of a ``customXml`` or
  ``customXmlProps`` relationship (any namespace) goes the way thumbnails go, and so do Word's
  ``w:dataBinding``/``w15:dataBinding`` that read it; a bound content control keeps its text.
- Word, in every part (headers, footnotes, glossary too): tracked changes are accepted (deletions,
  moved-away text, runs with deleted text, formatting/numbering/section/table change records and
  their range markers go; ``w:ins``/``w:moveTo`` are unwrapped). ``w:author`` becomes "Auteur" (a
  neutral name, as Word's own "remove personal information" writes), ``w:initials`` empty,
  ``w:date``/``w16du:dateUtc``/``w:ed`` go. Comment anchors and references go; the comment, people
  (e-mail addresses) and comment-extension parts keep only their root element. Document variables
  and the attached template (its path names the writer's Windows account) go.
- Excel: cell comments keep ``<authors/><commentList/>``; threaded comments and persons keep their
  root; the shared-workbook revision log (``xl/revisions``: user names and overwritten values) is
  dropped; ``fileSharing/@userName``, ``x15ac:absPath`` (the folder it was saved in), a pivot
  cache's ``refreshedBy`` and a scenario's ``user`` (account names Excel writes) go; a custom view's
  name (a shared workbook's "<user> - Personal View") becomes "Weergave <n>". Printer settings
  (``*/printerSettings/*``: a driver's private data) are dropped like thumbnails, and the ``r:id``
  of a sheet's ``pageSetup`` that pointed at them with them.
- PowerPoint: comment authors, comments and (modern) authors keep their root only.
- Everywhere: XML comments and processing instructions; Office packages embedded in the file (a
  chart's workbook) get the same treatment, two levels deep at most; an embedded ZIP that is no Office
  package (a zipped attachment, an OpenDocument file) makes the whole file refused.
- Every other part (pictures, media, fonts, embedded objects) is told by its bytes and cleaned or
  refused as the same kind shared on its own (``vault.services.office_media``): JPEG, PNG and JPEG
  2000 are cleaned; TIFF, HEIC, SVG, video, audio, PDF, OLE objects (an old Word file, macros) and
  any unknown kind make the whole file refused.

Not removed, because it is the content: the text and layout, footnotes, hidden text, hidden rows,
sheets and slides, speaker notes, external links, Excel's XML maps (``xl/xmlMaps.xml``: a schema and
where its elements go in the cells, no data). GIF, EMF and WMF pictures, fonts and legacy VML drawings
are kept as they are (``office_media``: the documented exception).
The output is a new ZIP: the entries in their order (directory entries left out),
``[Content_Types].xml`` first, all deflated, dated 1980-01-01, no comment, no extra fields.

Refused with ``InvalidInput`` (a reason safe to show, never file content): bytes that are no ZIP (a
password-protected Office file is an OLE compound file, so it is refused too), encrypted entries,
no ``[Content_Types].xml``, duplicate, absolute or ``..`` entry names, backslashes, more than
``MAX_ENTRIES`` entries in one package, packages nested deeper than two levels, an unpacked size over
``limit`` for the whole copy, every embedded package's inflated parts counted against the same budget
(declared and counted while reading: a zip bomb lies about its size), an XML part over
``MAX_XML_PART`` unpacked (lxml holds about twenty times a part's size in memory), compression other
than stored/deflated, and XML that is not well-formed or has a DTD (no place in OOXML; entity
expansion). A ``MemoryError`` or ``RecursionError`` while a part is read, parsed, cleaned or written (a
hostile part that libxml2 or Python cannot hold) is refused too (``TOO_COMPLEX``), its tree freed by
then. Nothing else escapes.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator, MutableMapping
from typing import Any, Protocol
from urllib.parse import unquote

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no stubs; see _Element

from vault.errors import InvalidInput
from vault.services.office_media import clean_media
from vault.services.office_package import (
    CONTENT_TYPES,
    MAX_ENTRIES,
    MAX_XML_PART,
    REFUSED,
    Budget,
    checked_entries,
    read_parts,
    write,
    xml_name,
)

__all__ = ["MAX_ENTRIES", "MAX_XML_PART", "TOO_COMPLEX", "strip_office"]

NEUTRAL_AUTHOR = "Auteur"
TOO_COMPLEX = "this Office file cannot be cleaned for a partner: it is too large or too complex to read"
_MAX_NESTING = 2


class _Element(Protocol):
    """The part of lxml's element API this module uses, typed (lxml has no stubs installed)."""

    tag: Any  # str for elements; a factory function for comments and processing instructions
    text: str | None
    tail: str | None
    attrib: MutableMapping[str, str]
    nsmap: dict[str | None, str]

    def __iter__(self) -> Iterator[_Element]: ...
    def __len__(self) -> int: ...
    def iter(self, *tags: Any) -> Iterator[_Element]: ...
    def getparent(self) -> _Element | None: ...
    def getprevious(self) -> _Element | None: ...
    def index(self, child: _Element) -> int: ...
    def insert(self, index: int, element: _Element) -> None: ...
    def remove(self, element: _Element) -> None: ...
    def getroottree(self) -> Any: ...


_EXTENSIONS = frozenset((
    "docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "xltm",
    "pptx", "pptm", "potx", "potm", "ppsx", "ppsm",
))  # fmt: skip


def _has_office_extension(name: str) -> bool:
    return "." in name and name.rsplit(".", 1)[1].strip().lower() in _EXTENSIONS


# --- namespaces and what goes ---------------------------------------------------------------------

_OX, _PURL = "http://schemas.openxmlformats.org/", "http://purl.oclc.org/ooxml/"  # transitional, strict
_W = (_OX + "wordprocessingml/2006/main", _PURL + "wordprocessingml/main")
_S = (_OX + "spreadsheetml/2006/main", _PURL + "spreadsheetml/main")
_P = (_OX + "presentationml/2006/main", _PURL + "presentationml/main")
_CP = _OX + "package/2006/metadata/core-properties"
_APP = (_OX + "officeDocument/2006/extended-properties", _PURL + "officeDocument/extendedProperties")
_CUSTOM = (_OX + "officeDocument/2006/custom-properties", _PURL + "officeDocument/customProperties")
_RELS = _OX + "package/2006/relationships"
_TYPES = _OX + "package/2006/content-types"
_MC_IGNORABLE = "{" + _OX + "markup-compatibility/2006}Ignorable"
_W15 = "http://schemas.microsoft.com/office/word/2012/wordml"
_W16DU_DATE = "{http://schemas.microsoft.com/office/word/2023/wordml/word16du}dateUtc"
_X18TC = "http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"
_P188 = "http://schemas.microsoft.com/office/powerpoint/2018/8/main"
_X15AC_ABSPATH = "{http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac}absPath"
_CORE_NSMAP = {
    "cp": _CP,
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "dcmitype": "http://purl.org/dc/dcmitype/",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}


def _tags(namespaces: tuple[str, ...], *names: str) -> frozenset[str]:
    return frozenset(f"{{{ns}}}{name}" for ns in namespaces for name in names)


# Accepting tracked changes: what was deleted or moved away, and every record of an earlier state;
# and the bindings to custom XML data, which goes.
_W_DROP = _tags(
    _W, "del", "moveFrom", "rPrChange", "pPrChange", "sectPrChange", "tblPrChange", "tblPrExChange",
    "trPrChange", "tcPrChange", "tblGridChange", "numberingChange",
    "moveFromRangeStart", "moveFromRangeEnd", "moveToRangeStart", "moveToRangeEnd",
    "customXmlDelRangeStart", "customXmlDelRangeEnd", "customXmlInsRangeStart", "customXmlInsRangeEnd",
    "customXmlMoveFromRangeStart", "customXmlMoveFromRangeEnd",
    "customXmlMoveToRangeStart", "customXmlMoveToRangeEnd",
    "commentRangeStart", "commentRangeEnd", "docVars", "attachedTemplate", "dataBinding",
) | _tags((_W15,), "dataBinding") | {_X15AC_ABSPATH}  # fmt: skip
_W_UNWRAP = _tags(_W, "ins", "moveTo")
_W_DELETED_TEXT = _tags(_W, "delText", "delInstrText")
_W_COMMENT_REF = _tags(_W, "commentReference")
_W_RUN = _tags(_W, "r")
_W_RUN_PROPS = _tags(_W, "rPr")
_W_AUTHOR = _tags(_W, "author")
_W_INITIALS = _tags(_W, "initials")
_DROP_ATTRIBUTES = _tags(_W, "date", "ed") | {_W16DU_DATE}
_R_IDS = (
    "{%s}id" % (_OX + "officeDocument/2006/relationships"),
    "{%s}id" % (_PURL + "officeDocument/relationships"),
)
_DROPPED_BY_ELEMENT: dict[str, tuple[str, ...]] = {  # account names Excel writes; the dropped printer
    **dict.fromkeys(_tags(_S, "fileSharing"), ("userName",)),  # settings' link
    **dict.fromkeys(_tags(_S, "pivotCacheDefinition"), ("refreshedBy",)),
    **dict.fromkeys(_tags(_S, "scenario"), ("user",)),
    **dict.fromkeys(_tags(_S, "pageSetup"), _R_IDS),
}
_CUSTOM_VIEW = _tags(_S, "customWorkbookView")

_CORE = f"{{{_CP}}}coreProperties"
_APP_ROOT = _tags(_APP, "Properties")
_APP_KEPT = frozenset({"Application", "AppVersion", "DocSecurity"})
_SHEET_COMMENTS = _tags(_S, "comments")
_EMPTIED_ROOTS = (
    _tags(_CUSTOM, "Properties")
    | _SHEET_COMMENTS
    | _tags(_W, "comments")
    | _tags((_W15,), "commentsEx", "people")
    | {
        "{http://schemas.microsoft.com/office/word/2016/wordml/cid}commentsIds",
        "{http://schemas.microsoft.com/office/word/2018/wordml/cex}commentsExtensible",
    }
    | _tags((_X18TC,), "ThreadedComments", "personList")
    | _tags(_P, "cmAuthorLst", "cmLst")
    | _tags((_P188,), "authorLst", "cmLst")
)
_EMPTIED_NAMES = re.compile(
    r"docprops/custom\.xml|word/(?:comments[a-z]*|people)\.xml|xl/comments[^/]*\.xml"
    r"|xl/(?:threadedcomments|persons|comments)/[^/]+\.xml|ppt/(?:commentauthors|authors)\.xml"
    r"|ppt/comments/[^/]+\.xml"
)
_DROPPED_NAMES = re.compile(
    r"docprops/thumbnail\.[^/]+|xl/revisions/.+|customxml/.+|[^/]+/printersettings/.+|_xmlsignatures/.+"
)
_CUSTOM_XML = frozenset({"customXml", "customXmlProps"})  # the last segment of the type, as below
_DROPPED_RELATIONSHIPS = frozenset({"thumbnail", "attachedTemplate", "printerSettings"}) | _CUSTOM_XML

_BROKEN = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    struct.error,
    EOFError,
    OSError,
    ValueError,  # UnicodeDecodeError of an entry name, a negative seek …
    NotImplementedError,
    RuntimeError,
    KeyError,
    IndexError,
    OverflowError,
    etree.LxmlError,
)


# --- the package ----------------------------------------------------------------------------------


def strip_office(data: bytes, *, limit: int) -> bytes:
    """The partner's copy of an Office Open XML package (see the module docstring); ``InvalidInput``
    when the bytes are not a package this module can safely rewrite."""
    if len(data) > limit:
        raise InvalidInput(f"an Office file for a partner is at most {limit} bytes")
    try:
        return _rewrite(data, Budget(limit), depth=0)
    except (MemoryError, RecursionError):  # a hostile part read, parsed or written: its tree is gone here
        raise InvalidInput(TOO_COMPLEX) from None
    except _BROKEN:
        raise InvalidInput(REFUSED) from None


def _rewrite(data: bytes, budget: Budget, *, depth: int) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = checked_entries(archive, budget)
        parts = read_parts(archive, entries, budget)
    dropped = _dropped_parts(parts)
    cleaned: list[tuple[str, bytes]] = []
    for name, body in parts.items():
        if name.lower() in dropped or name.endswith("/"):
            continue  # a directory entry holds nothing; Office never writes one
        cleaned.append((name, _clean_part(name, body, dropped, budget, depth)))
    cleaned.sort(key=lambda part: part[0].lower() != CONTENT_TYPES)  # stable: the rest keep their order
    return write(cleaned)


def _clean_part(name: str, body: bytes, dropped: frozenset[str], budget: Budget, depth: int) -> bytes:
    lower = name.lower()
    if xml_name(lower):
        return _serialise(_clean_xml(lower, _parse(body), dropped))
    if _has_office_extension(lower) or body.startswith(b"PK\x03\x04"):  # an embedded package
        if depth + 1 > _MAX_NESTING:
            raise InvalidInput("the Office package nests packages too deeply")
        return _rewrite(body, budget, depth=depth + 1)
    return clean_media(lower, body)  # a picture, medium, font or object: by its bytes


# --- relationships and dropped parts --------------------------------------------------------------


def _relationships(root: _Element) -> Iterator[_Element]:
    return root.iter(f"{{{_RELS}}}Relationship")


def _target(rels_name: str, relationship: _Element) -> str | None:
    """The part a relationship points at (lower case, no leading slash); None for an external one."""
    target = relationship.attrib.get("Target")
    if target is None or relationship.attrib.get("TargetMode", "Internal") == "External":
        return None
    source_folder = posixpath.dirname(posixpath.dirname(rels_name))  # x/_rels/y.rels → x
    path = unquote(target.split("#", 1)[0])
    joined = path if path.startswith("/") else posixpath.join("/", source_folder, path)
    return posixpath.normpath(joined).lstrip("/").lower()


def _kind(relationship: _Element) -> str:
    return relationship.attrib.get("Type", "").rsplit("/", 1)[-1]


def _signature(relationship: _Element) -> bool:
    """A digital signature's origin, signature or certificate part (D8: the signer's certificate, name
    and comments; the copy is changed, so no signature in it could still be valid)."""
    return "/digital-signature/" in relationship.attrib.get("Type", "")


def _dropped_parts(parts: dict[str, bytes]) -> frozenset[str]:
    """Thumbnails, custom XML data and Excel's revision log, with their own relationship parts. A
    thumbnail relationship's target goes unless another relationship also shows it in the document."""
    dropped = {name.lower() for name in parts if _DROPPED_NAMES.fullmatch(name.lower())}
    thumbnails: set[str] = set()
    shown: set[str] = set()
    for name, body in parts.items():
        if not name.lower().endswith(".rels"):
            continue
        for relationship in _relationships(_parse(body)):
            target = _target(name.lower(), relationship)
            if target is not None and (_kind(relationship) in _CUSTOM_XML or _signature(relationship)):
                dropped.add(target)
            elif target is not None:
                (thumbnails if _kind(relationship) == "thumbnail" else shown).add(target)
    dropped |= thumbnails - shown
    own_rels = {
        posixpath.join(posixpath.dirname(p), "_rels", posixpath.basename(p) + ".rels") for p in dropped
    }
    return frozenset(dropped | own_rels) - {CONTENT_TYPES}  # a relationship cannot unmake the package


def _clean_relationships(rels_name: str, root: _Element, dropped: frozenset[str]) -> None:
    for relationship in list(_relationships(root)):
        dropped_kind = _kind(relationship) in _DROPPED_RELATIONSHIPS or _signature(relationship)
        if dropped_kind or _target(rels_name, relationship) in dropped:
            _remove(relationship)


def _clean_content_types(root: _Element, dropped: frozenset[str]) -> None:
    for override in list(root.iter(f"{{{_TYPES}}}Override")):
        if unquote(override.attrib.get("PartName", "")).lstrip("/").lower() in dropped:
            _remove(override)


# --- XML ------------------------------------------------------------------------------------------


def _parse(body: bytes) -> _Element:
    parser = etree.XMLParser(  # one per call: lxml parsers are not shared between threads
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_blank_text=False
    )
    try:
        root: _Element = etree.fromstring(body, parser)
    except etree.LxmlError:
        raise InvalidInput("the Office package has a part that is not well-formed XML") from None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise InvalidInput("the Office package has a part with a DTD")
    return root


def _serialise(root: _Element) -> bytes:
    # The root alone: comments and processing instructions beside it stay behind.
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return out


def _clean_xml(lower_name: str, root: _Element, dropped: frozenset[str]) -> _Element:
    if lower_name.endswith(".rels"):
        _clean_relationships(lower_name, root, dropped)
        return root
    if lower_name == CONTENT_TYPES:
        _clean_content_types(root, dropped)
        return root
    if root.tag == _CORE or lower_name == "docprops/core.xml":
        empty: _Element = etree.Element(_CORE, nsmap=_CORE_NSMAP)
        return empty
    if root.tag in _APP_ROOT or lower_name == "docprops/app.xml":
        _keep_application_only(root)
    elif root.tag in _EMPTIED_ROOTS or _EMPTIED_NAMES.fullmatch(lower_name):
        _empty(root)
    _drop_comments_and_instructions(root)
    _accept_tracked_changes(root)
    _drop_comment_anchors(root)
    _neutralise_attributes(root)
    return root


def _keep_application_only(root: _Element) -> None:
    for child in list(root):
        if not isinstance(child.tag, str) or etree.QName(child).localname not in _APP_KEPT:
            _remove(child)


def _empty(root: _Element) -> None:
    """Only the root stays (with its namespaces and ``mc:Ignorable``, which name prefixes, not people);
    an Excel comments part keeps the two lists its schema requires, both empty."""
    for child in list(root):
        root.remove(child)
    root.text = None
    for key in [k for k in root.attrib if k != _MC_IGNORABLE]:
        del root.attrib[key]
    if root.tag in _SHEET_COMMENTS:
        namespace = etree.QName(root).namespace
        etree.SubElement(root, f"{{{namespace}}}authors")
        etree.SubElement(root, f"{{{namespace}}}commentList")


def _drop_comments_and_instructions(root: _Element) -> None:
    for node in list(root.iter(etree.Comment, etree.ProcessingInstruction)):
        _remove(node)


def _accept_tracked_changes(root: _Element) -> None:
    for element in list(root.iter(*_W_DELETED_TEXT)):
        parent = element.getparent()  # a run (w:r, or m:r in an equation) holding deleted text goes
        _remove(parent if parent is not None and etree.QName(parent).localname == "r" else element)
    for element in list(root.iter(*_W_DROP)):
        _remove(element)
    for element in list(root.iter(*_W_UNWRAP)):
        _unwrap(element)


def _drop_comment_anchors(root: _Element) -> None:
    for reference in list(root.iter(*_W_COMMENT_REF)):
        run = reference.getparent()
        _remove(reference)
        if run is not None and run.tag in _W_RUN and all(child.tag in _W_RUN_PROPS for child in run):
            _remove(run)


def _neutralise_attributes(root: _Element) -> None:
    views = 0
    for element in root.iter(etree.Element):
        for key in list(element.attrib):
            if key in _W_AUTHOR:
                element.attrib[key] = NEUTRAL_AUTHOR
            elif key in _W_INITIALS:
                element.attrib[key] = ""
            elif key in _DROP_ATTRIBUTES:
                del element.attrib[key]
        for key in _DROPPED_BY_ELEMENT.get(element.tag, ()):
            element.attrib.pop(key, None)
        if element.tag in _CUSTOM_VIEW and "name" in element.attrib:
            views += 1
            element.attrib["name"] = f"Weergave {views}"


def _text_before(element: _Element, text: str | None) -> None:
    """Mixed content stays where it was when ``element`` goes."""
    if not text:
        return
    previous, parent = element.getprevious(), element.getparent()
    if previous is not None:
        previous.tail = (previous.tail or "") + text
    elif parent is not None:
        parent.text = (parent.text or "") + text


def _remove(element: _Element) -> None:
    parent = element.getparent()
    if parent is None:  # the root itself: what it holds goes, the part stays well-formed
        _empty(element)
        return
    _text_before(element, element.tail)
    parent.remove(element)


def _unwrap(element: _Element) -> None:
    parent = element.getparent()
    if parent is None:
        return  # an inserted root is kept as it is; its author is neutralised like any other
    _text_before(element, element.text)
    index = parent.index(element)
    for offset, child in enumerate(list(element)):
        parent.insert(index + offset, child)
    _remove(element)
