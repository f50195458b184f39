"""A partner's copy of a Word, Excel or PowerPoint file (D22, D8): no author, reviewer, comment, tracked
deletion, custom property or thumbnail survives; the visible text does. Hostile packages are refused
with a reason that names nothing from the file. The packages are built here by hand, the way Office
writes them (there is no python-docx in the project)."""

from __future__ import annotations

import io
import posixpath
import struct
import warnings
import zipfile
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from tests.services.test_image_copy import png_with_everything
from vault.errors import InvalidInput
from vault.services.image_copy import strip_png
from vault.services.office_copy import MAX_ENTRIES, strip_office

LIMIT = 1024 * 1024

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
P = "http://schemas.openxmlformats.org/presentationml/2006/main"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
W15 = "http://schemas.microsoft.com/office/word/2012/wordml"
W16DU = "http://schemas.microsoft.com/office/word/2023/wordml/word16du"
X18TC = "http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"
P188 = "http://schemas.microsoft.com/office/powerpoint/2018/8/main"
PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
NS = {"w": W, "r": R, "s": S, "p": P, "w15": W15, "rel": PKG_RELS, "ct": CT}
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# Everything that names or points at a person, or that the writer meant to take back.
CANARIES = (
    "Jan Melder", "jan.melder@example.nl", "0612345678", "bel de melder", "Buurtzorg Melder BV",
    "Pietje Puk", "Kanariestraat", "familie Puk", "jmelder", "Mevrouw Toezicht",
    "Karin Keten", "karin.keten@example.nl", "vermoedelijk dronken", "kketen", "Keten Jeugdzorg BV",
    "Dorpsweg 3", "Piet Presentator", "piet@example.nl", "moeder belde huilend",
)  # fmt: skip
# What SharePoint, OneDrive or Teams leave in a file's custom XML data: the library's person columns.
SHAREPOINT_CANARIES = (
    "Sanne Schuilplaats",
    "sanne.schuilplaats@example.nl",
    "sschuilplaats",
    "Opvang Dukdalf",
)
THUMBNAIL = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 first page: Pietje Puk, Kanariestraat 12 \xff\xd9"
IMAGE = png_with_everything()  # a real picture with its maker in text and EXIF


def _ct(defaults: dict[str, str], overrides: dict[str, str]) -> str:
    return (
        HEAD
        + f'<Types xmlns="{CT}">'
        + "".join(f'<Default Extension="{e}" ContentType="{t}"/>' for e, t in defaults.items())
        + "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides.items())
        + "</Types>"
    )


def _rels(*relationships: tuple[str, str, str] | tuple[str, str, str, str]) -> str:
    items = []
    for rel in relationships:
        rel_id, kind, target = rel[:3]
        mode = ' TargetMode="External"' if len(rel) == 4 else ""
        kind = kind if kind.startswith("http") else REL + kind
        items.append(f'<Relationship Id="{rel_id}" Type="{kind}" Target="{target}"{mode}/>')
    return HEAD + f'<Relationships xmlns="{PKG_RELS}">' + "".join(items) + "</Relationships>"


def _core(creator: str, title: str) -> str:
    return (
        HEAD
        + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{title}</dc:title><dc:subject>Melding</dc:subject><dc:creator>{creator}</dc:creator>"
        f"<cp:keywords>Pietje Puk</cp:keywords><cp:lastModifiedBy>{creator}</cp:lastModifiedBy>"
        '<cp:revision>7</cp:revision><dcterms:created xsi:type="dcterms:W3CDTF">2024-05-01T09:00:00Z'
        "</dcterms:created></cp:coreProperties>"
    )


def _app(application: str, company: str) -> str:
    return (
        HEAD + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"'
        ' xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        f"<Template>Melding.dotm</Template><TotalTime>42</TotalTime><Application>{application}</Application>"
        '<DocSecurity>0</DocSecurity><TitlesOfParts><vt:vector size="1" baseType="lpstr">'
        "<vt:lpstr>Verslag over familie Puk</vt:lpstr></vt:vector></TitlesOfParts>"
        f"<Manager>Mevrouw Toezicht</Manager><Company>{company}</Company><AppVersion>16.0000</AppVersion>"
        "</Properties>"
    )


def _package(parts: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in parts.items():
            archive.writestr(name, body.encode() if isinstance(body, str) else body)
    return buffer.getvalue()


def _xlsx_parts() -> dict[str, str | bytes]:
    tc_rel = "http://schemas.microsoft.com/office/2017/10/relationships/"
    sml = "application/vnd.openxmlformats-officedocument.spreadsheetml."
    return {
        "[Content_Types].xml": _ct(
            {
                "rels": "application/vnd.openxmlformats-package.relationships+xml",
                "xml": "application/xml",
                "vml": "application/vnd.openxmlformats-officedocument.vmlDrawing",
            },
            {
                "/xl/workbook.xml": sml + "sheet.main+xml",
                "/xl/worksheets/sheet1.xml": sml + "worksheet+xml",
                "/xl/comments1.xml": sml + "comments+xml",
                "/xl/threadedComments/threadedComment1.xml": "application/vnd.ms-excel.threadedcomments+xml",
                "/xl/persons/person.xml": "application/vnd.ms-excel.person+xml",
                "/xl/revisions/revisionHeaders.xml": sml + "revisionHeaders+xml",
                "/xl/revisions/revisionLog1.xml": sml + "revisionLog+xml",
                "/xl/revisions/userNames.xml": sml + "userNames+xml",
                "/docProps/core.xml": "application/vnd.openxmlformats-package.core-properties+xml",
                "/docProps/app.xml": "application/vnd.openxmlformats-officedocument.extended-properties+xml",
            },
        ),
        "_rels/.rels": _rels(
            ("rId1", "officeDocument", "xl/workbook.xml"),
            (
                "rId2",
                PKG_RELS.replace("relationships", "relationships/metadata/core-properties"),
                "docProps/core.xml",
            ),
            ("rId3", "extended-properties", "docProps/app.xml"),
        ),
        "xl/workbook.xml": HEAD + f'<workbook xmlns="{S}" xmlns:r="{R}"'
        ' xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x15ac"'
        ' xmlns:x15ac="http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac">'
        '<fileVersion appName="xl"/><fileSharing readOnlyRecommended="1" userName="Karin Keten"/>'
        '<mc:AlternateContent><mc:Choice Requires="x15"><x15ac:absPath url="C:\\Users\\kketen\\Dossiers\\"/>'
        '</mc:Choice></mc:AlternateContent><sheets><sheet name="Blad1" sheetId="1" r:id="rId1"/></sheets>'
        "</workbook>",
        "xl/_rels/workbook.xml.rels": _rels(
            ("rId1", "worksheet", "worksheets/sheet1.xml"),
            ("rId2", "revisionHeaders", "revisions/revisionHeaders.xml"),
            ("rId3", "usernames", "revisions/userNames.xml"),
            ("rId4", tc_rel + "person", "persons/person.xml"),
        ),
        "xl/worksheets/sheet1.xml": HEAD + f'<worksheet xmlns="{S}" xmlns:r="{R}"><sheetData><row r="1">'
        '<c r="A1" t="inlineStr"><is><t>Zichtbare cel</t></is></c></row></sheetData>'
        '<legacyDrawing r:id="rId2"/></worksheet>',
        "xl/worksheets/_rels/sheet1.xml.rels": _rels(
            ("rId1", "comments", "../comments1.xml"),
            ("rId2", "vmlDrawing", "../drawings/vmlDrawing1.vml"),
            ("rId3", tc_rel + "threadedComment", "../threadedComments/threadedComment1.xml"),
        ),
        "xl/drawings/vmlDrawing1.vml": '<xml xmlns:v="urn:schemas-microsoft-com:vml">'
        '<v:shape id="_x0000_s1025"/>'
        "</xml>",
        "xl/comments1.xml": HEAD + f'<comments xmlns="{S}"><authors><author>Karin Keten</author></authors>'
        '<commentList><comment ref="A1" authorId="0"><text><r><t>Karin Keten: vermoedelijk dronken</t></r>'
        "</text></comment></commentList></comments>",
        "xl/threadedComments/threadedComment1.xml": HEAD + f'<ThreadedComments xmlns="{X18TC}">'
        '<threadedComment ref="A1" dT="2024-05-01T10:00:00.00" personId="{1}" id="{2}">'
        "<text>vermoedelijk dronken</text></threadedComment></ThreadedComments>",
        "xl/persons/person.xml": HEAD
        + f'<personList xmlns="{X18TC}"><person displayName="Karin Keten" id="{{1}}"'
        ' userId="karin.keten@example.nl" providerId="AD"/></personList>',
        "xl/revisions/revisionHeaders.xml": HEAD + f'<headers xmlns="{S}" xmlns:r="{R}" guid="{{3}}">'
        '<header guid="{4}" dateTime="2024-05-01T10:00:00" userName="Karin Keten" r:id="rId1"/></headers>',
        "xl/revisions/_rels/revisionHeaders.xml.rels": _rels(("rId1", "revisionLog", "revisionLog1.xml")),
        "xl/revisions/revisionLog1.xml": HEAD + f'<revisions xmlns="{S}"><rcc rId="1" sId="1"><oc r="A2"'
        ' t="inlineStr"><is><t>Dorpsweg 3</t></is></oc></rcc></revisions>',
        "xl/revisions/userNames.xml": HEAD + f'<users xmlns="{S}" count="1"><userInfo guid="{{4}}"'
        ' name="Karin Keten" id="1" dateTime="2024-05-01T10:00:00"/></users>',
        "docProps/core.xml": _core("Karin Keten", "Overzicht familie Puk"),
        "docProps/app.xml": _app("Microsoft Excel", "Keten Jeugdzorg BV"),
    }


def _docx_parts() -> dict[str, str | bytes]:
    wml = "application/vnd.openxmlformats-officedocument.wordprocessingml."
    document = (
        HEAD
        + f'<w:document xmlns:w="{W}" xmlns:r="{R}" xmlns:w16du="{W16DU}"><!-- opgesteld door Jan Melder -->'
        "<w:body><w:p><w:r><w:t>Zichtbare tekst</w:t></w:r>"
        '<w:ins w:id="1" w:author="Jan Melder" w:date="2024-05-01T10:00:00Z"'
        ' w16du:dateUtc="2024-05-01T10:00:00Z">'
        '<w:r><w:t xml:space="preserve"> ingevoegd</w:t></w:r></w:ins>'
        '<w:del w:id="2" w:author="Jan Melder" w:date="2024-05-01T10:01:00Z"><w:r>'
        "<w:delText>Pietje Puk Kanariestraat 12</w:delText></w:r></w:del>"
        '<w:commentRangeStart w:id="0"/><w:r><w:t>besproken</w:t></w:r><w:commentRangeEnd w:id="0"/>'
        '<w:r><w:rPr><w:rStyle w:val="Verwijzingopmerking"/></w:rPr><w:commentReference w:id="0"/></w:r>'
        "</w:p>"
        '<w:p><w:pPr><w:rPr><w:del w:id="3" w:author="Jan Melder" w:date="2024-05-01T10:02:00Z"/>'
        "</w:rPr></w:pPr>"
        '<w:r><w:rPr><w:b/><w:rPrChange w:id="4" w:author="Jan Melder" w:date="2024-05-01T10:03:00Z"><w:rPr/>'
        "</w:rPrChange></w:rPr><w:t>Tweede alinea</w:t></w:r></w:p>"
        '<w:p><w:moveFromRangeStart w:id="5" w:author="Jan Melder" w:name="move1"/><w:moveFrom w:id="6"'
        ' w:author="Jan Melder"><w:r><w:t>Verhuisde zin</w:t></w:r></w:moveFrom>'
        '<w:moveFromRangeEnd w:id="5"/></w:p>'
        '<w:p><w:moveToRangeStart w:id="7" w:author="Jan Melder" w:name="move1"/><w:moveTo w:id="8"'
        ' w:author="Jan Melder"><w:r><w:t>Verhuisde zin</w:t></w:r></w:moveTo>'
        '<w:moveToRangeEnd w:id="7"/></w:p>'
        '<w:p><w:r><w:object><o:OLEObject xmlns:o="urn:schemas-microsoft-com:office:office" r:id="rId7"/>'
        "</w:object></w:r></w:p><w:sectPr/></w:body></w:document>"
    )
    return {
        "[Content_Types].xml": _ct(
            {
                "rels": "application/vnd.openxmlformats-package.relationships+xml",
                "xml": "application/xml",
                "jpeg": "image/jpeg",
                "png": "image/png",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            },
            {
                "/word/document.xml": wml + "document.main+xml",
                "/word/comments.xml": wml + "comments+xml",
                "/word/people.xml": wml + "people+xml",
                "/word/settings.xml": wml + "settings+xml",
                "/docProps/core.xml": "application/vnd.openxmlformats-package.core-properties+xml",
                "/docProps/app.xml": "application/vnd.openxmlformats-officedocument.extended-properties+xml",
                "/docProps/custom.xml": "application/vnd.openxmlformats-officedocument.custom-properties+xml",
                "/docProps/thumbnail.jpeg": "image/jpeg",
            },
        ),
        "_rels/.rels": _rels(
            ("rId1", "officeDocument", "word/document.xml"),
            ("rId2", PKG_RELS + "/metadata/core-properties", "docProps/core.xml"),
            ("rId3", "extended-properties", "docProps/app.xml"),
            ("rId4", "custom-properties", "docProps/custom.xml"),
            ("rId5", PKG_RELS + "/metadata/thumbnail", "docProps/thumbnail.jpeg"),
        ),
        "word/document.xml": document,
        "word/_rels/document.xml.rels": _rels(
            ("rId1", "comments", "comments.xml"),
            ("rId2", "http://schemas.microsoft.com/office/2011/relationships/people", "people.xml"),
            ("rId3", "settings", "settings.xml"),
            ("rId4", "image", "media/image1.png"),
            ("rId7", "package", "embeddings/Microsoft_Excel_Worksheet.xlsx"),
        ),
        "word/comments.xml": HEAD + f'<w:comments xmlns:w="{W}"><w:comment w:id="0" w:author="Jan Melder"'
        ' w:date="2024-05-01T10:04:00Z" w:initials="JM"><w:p><w:r><w:annotationRef/></w:r><w:r>'
        "<w:t>bel de melder terug op 0612345678</w:t></w:r></w:p></w:comment></w:comments>",
        "word/people.xml": HEAD + f'<w15:people xmlns:w15="{W15}"><w15:person w15:author="Jan Melder">'
        '<w15:presenceInfo w15:providerId="AD" w15:userId="jan.melder@example.nl"/></w15:person>'
        "</w15:people>",
        "word/settings.xml": HEAD
        + f'<w:settings xmlns:w="{W}" xmlns:r="{R}"><w:attachedTemplate r:id="rId1"/>'
        '<w:docVars><w:docVar w:name="behandelaar" w:val="Jan Melder"/></w:docVars></w:settings>',
        "word/_rels/settings.xml.rels": _rels(
            ("rId1", "attachedTemplate", "file:///C:/Users/jmelder/Sjablonen/Melding.dotm", "External")
        ),
        "word/media/image1.png": IMAGE,
        "word/embeddings/Microsoft_Excel_Worksheet.xlsx": _package(_xlsx_parts()),
        "docProps/core.xml": _core("Jan Melder", "Verslag over familie Puk"),
        "docProps/app.xml": _app("Microsoft Office Word", "Buurtzorg Melder BV"),
        "docProps/custom.xml": HEAD
        + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="Behandelaar">'
        "<vt:lpwstr>Jan Melder</vt:lpwstr></property></Properties>",
        "docProps/thumbnail.jpeg": THUMBNAIL,
    }


def _pptx_parts() -> dict[str, str | bytes]:
    pml = "application/vnd.openxmlformats-officedocument.presentationml."
    return {
        "[Content_Types].xml": _ct(
            {"rels": "application/vnd.openxmlformats-package.relationships+xml", "xml": "application/xml"},
            {
                "/ppt/presentation.xml": pml + "presentation.main+xml",
                "/ppt/slides/slide1.xml": pml + "slide+xml",
                "/ppt/commentAuthors.xml": pml + "commentAuthors+xml",
                "/ppt/comments/comment1.xml": pml + "comments+xml",
                "/ppt/comments/modernComment_100.xml": "application/vnd.ms-powerpoint.comments+xml",
                "/ppt/authors.xml": "application/vnd.ms-powerpoint.authors+xml",
                "/docProps/core.xml": "application/vnd.openxmlformats-package.core-properties+xml",
            },
        ),
        "_rels/.rels": _rels(
            ("rId1", "officeDocument", "ppt/presentation.xml"),
            ("rId2", PKG_RELS + "/metadata/core-properties", "docProps/core.xml"),
        ),
        "ppt/presentation.xml": HEAD + f'<p:presentation xmlns:p="{P}" xmlns:r="{R}"><p:sldIdLst>'
        '<p:sldId id="256" r:id="rId1"/></p:sldIdLst></p:presentation>',
        "ppt/_rels/presentation.xml.rels": _rels(
            ("rId1", "slide", "slides/slide1.xml"),
            ("rId2", "commentAuthors", "commentAuthors.xml"),
            ("rId3", "http://schemas.microsoft.com/office/2018/10/relationships/authors", "authors.xml"),
        ),
        "ppt/slides/slide1.xml": HEAD
        + f'<p:sld xmlns:p="{P}" xmlns:a="{A}"><p:cSld><p:spTree><p:sp><p:txBody>'
        "<a:bodyPr/><a:p><a:r><a:t>Zichtbare dia</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld>"
        "</p:sld>",
        "ppt/slides/_rels/slide1.xml.rels": _rels(
            ("rId1", "comments", "../comments/comment1.xml"),
            (
                "rId2",
                "http://schemas.microsoft.com/office/2018/10/relationships/comments",
                "../comments/modernComment_100.xml",
            ),
        ),
        "ppt/commentAuthors.xml": HEAD
        + f'<p:cmAuthorLst xmlns:p="{P}"><p:cmAuthor id="0" name="Piet Presentator"'
        ' initials="PP" lastIdx="1" clrIdx="0"/></p:cmAuthorLst>',
        "ppt/comments/comment1.xml": HEAD
        + f'<p:cmLst xmlns:p="{P}"><p:cm authorId="0" dt="2024-05-01T10:00:00"'
        ' idx="1"><p:pos x="10" y="10"/><p:text>moeder belde huilend</p:text></p:cm></p:cmLst>',
        "ppt/comments/modernComment_100.xml": HEAD + f'<p188:cmLst xmlns:p188="{P188}" xmlns:a="{A}">'
        '<p188:cm id="{5}" authorId="{6}" created="2024-05-01T10:00:00"><p188:txBody><a:bodyPr/><a:p><a:r>'
        "<a:t>moeder belde huilend</a:t></a:r></a:p></p188:txBody></p188:cm></p188:cmLst>",
        "ppt/authors.xml": HEAD + f'<p188:authorLst xmlns:p188="{P188}"><p188:author id="{{6}}"'
        ' name="Piet Presentator" initials="PP" userId="piet@example.nl" providerId="AD"/></p188:authorLst>',
        "docProps/core.xml": _core("Piet Presentator", "Casusoverleg familie Puk"),
    }


CUSTOM_XML_TYPES = (REL + "customXml", REL + "customXmlProps",
                    "http://purl.oclc.org/ooxml/officeDocument/relationships/customXml")  # fmt: skip
STORE_ITEM = "{6B3C1E8A-0F1D-4C2B-9E55-3A7D2C1B0E11}"
SP_PROPERTIES = "http://schemas.microsoft.com/office/2006/metadata/properties"
SP_COLUMNS = "0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5"  # a library's columns live in a namespace of its own


def _with_custom_xml(parts: dict[str, str | bytes], rels_name: str) -> dict[str, str | bytes]:
    """``parts`` as a document library leaves them: its columns in ``customXml/item1.xml`` (with its
    properties part), related from the main part; a second item where no tool looks for it, related with
    the strict type; an item nothing relates to; and a relationship to an item outside the file."""
    folder = rels_name.split("/", 1)[0]
    relationships = (
        '<Relationship Id="rId90" Type="{0}" Target="../customXml/item1.xml"/>'
        '<Relationship Id="rId91" Type="{2}" Target="lijstdata/item2.xml"/>'
        '<Relationship Id="rId92" Type="{0}" TargetMode="External"'
        ' Target="https://dukdalf.sharepoint.com/sites/sschuilplaats/item.xml"/>'
    ).format(*CUSTOM_XML_TYPES)
    override = '<Override PartName="/customXml/itemProps1.xml"'
    override += ' ContentType="application/vnd.openxmlformats-officedocument.customXmlProperties+xml"/>'
    person = (
        "<UserInfo><DisplayName>Sanne Schuilplaats</DisplayName><AccountId>12</AccountId>"
        "<AccountType/></UserInfo>"
    )
    return {
        **parts,
        "[Content_Types].xml": str(parts["[Content_Types].xml"]).replace("</Types>", override + "</Types>"),
        rels_name: str(parts[rels_name]).replace("</Relationships>", relationships + "</Relationships>"),
        "customXml/item1.xml": HEAD + f'<p:properties xmlns:p="{SP_PROPERTIES}"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><documentManagement>'
        f'<Behandelaar xmlns="{SP_COLUMNS}">{person}</Behandelaar>'
        f'<Contact xmlns="{SP_COLUMNS}">sanne.schuilplaats@example.nl</Contact>'
        f'<Organisatie xmlns="{SP_COLUMNS}">Opvang Dukdalf</Organisatie></documentManagement></p:properties>',
        "customXml/itemProps1.xml": HEAD + '<ds:datastoreItem ds:itemID="' + STORE_ITEM + '" xmlns:ds='
        '"http://schemas.openxmlformats.org/officeDocument/2006/customXml"><ds:schemaRefs>'
        f'<ds:schemaRef ds:uri="{SP_PROPERTIES}"/><ds:schemaRef ds:uri="{SP_COLUMNS}"/>'
        "</ds:schemaRefs></ds:datastoreItem>",
        "customXml/_rels/item1.xml.rels": _rels(("rId1", "customXmlProps", "itemProps1.xml")),
        f"{folder}/lijstdata/item2.xml": HEAD + "<gebruiker>i:0#.w|zorg\\sschuilplaats</gebruiker>",
        "customXml/item3.xml": HEAD + "<achtergelaten>Sanne Schuilplaats</achtergelaten>",
    }


def _bound_docx_parts() -> dict[str, str | bytes]:
    """The docx with two content controls bound to the library's columns: one as Word 2007 binds it,
    one as Word 2013 does (``w15:dataBinding``); both show "Zichtbaar"."""
    binding = (
        f"w:prefixMappings=\"xmlns:ns0='{SP_PROPERTIES}' xmlns:ns1='{SP_COLUMNS}'\""
        ' w:xpath="/ns0:properties[1]/documentManagement[1]/ns1:Behandelaar[1]/ns1:UserInfo[1]'
        f'/ns1:DisplayName[1]" w:storeItemID="{STORE_ITEM}"'
    )
    controls = (
        f'<w:sdt><w:sdtPr><w:alias w:val="Behandelaar"/><w:id w:val="11"/><w:dataBinding {binding}/>'
        "</w:sdtPr><w:sdtContent><w:p><w:r><w:t>Zichtbaar</w:t></w:r></w:p></w:sdtContent></w:sdt>"
        f'<w:p><w:sdt><w:sdtPr><w:id w:val="12"/><w15:dataBinding xmlns:w15="{W15}" {binding}/>'
        "</w:sdtPr><w:sdtContent><w:r><w:t>Zichtbaar</w:t></w:r></w:sdtContent></w:sdt></w:p><w:sectPr/>"
    )
    parts = _docx_parts()
    parts["word/document.xml"] = str(parts["word/document.xml"]).replace("<w:sectPr/>", controls)
    return _with_custom_xml(parts, "word/_rels/document.xml.rels")


DOCX = _package(_docx_parts())
XLSX = _package(_xlsx_parts())
PPTX = _package(_pptx_parts())
CUSTOM_XML = {
    "docx": _package(_bound_docx_parts()),
    "xlsx": _package(_with_custom_xml(_xlsx_parts(), "xl/_rels/workbook.xml.rels")),
    "pptx": _package(_with_custom_xml(_pptx_parts(), "ppt/_rels/presentation.xml.rels")),
}
PACKAGES = pytest.mark.parametrize(
    "original",
    [DOCX, XLSX, PPTX, *CUSTOM_XML.values()],
    ids=["docx", "xlsx", "pptx", *(f"{kind}-custom-xml" for kind in CUSTOM_XML)],
)


def _entries(data: bytes) -> dict[str, bytes]:
    """Every entry's decompressed bytes, in order."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _all_text(data: bytes) -> str:
    """Everything a recipient could unpack, embedded packages included, as one string."""
    pieces = []
    for name, body in _entries(data).items():
        pieces.append(name)
        nested = name.endswith((".xlsx", ".docx"))
        pieces.append(_all_text(body) if nested else body.decode("utf-8", "replace"))
    return "\n".join(pieces)


def _xml(data: bytes, name: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(_entries(data)[name], parser)


def _leaks(text: str) -> list[str]:
    return [canary for canary in (*CANARIES, *SHAREPOINT_CANARIES) if canary.lower() in text.lower()]


# --- what the partner's copy says ----------------------------------------------------------------


def test_the_canaries_are_in_the_originals() -> None:
    assert set(_leaks(_all_text(DOCX) + _all_text(PPTX))) == set(CANARIES)  # the docx embeds the xlsx


@PACKAGES
def test_d8_d22_no_name_comment_or_deleted_text_survives_in_any_entry(original: bytes) -> None:
    assert _leaks(_all_text(strip_office(original, limit=LIMIT))) == []


def test_d22_the_visible_and_inserted_text_stays() -> None:
    copy = strip_office(DOCX, limit=LIMIT)
    document = _entries(copy)["word/document.xml"].decode()
    assert "Zichtbare tekst" in document
    assert "ingevoegd" in document
    assert "besproken" in document
    assert "Tweede alinea" in document
    assert document.count("Verhuisde zin") == 1  # moved: kept where it went, gone where it came from
    assert _entries(copy)["word/media/image1.png"] == strip_png(IMAGE)  # the picture, cleaned
    assert "Zichtbare cel" in _all_text(strip_office(XLSX, limit=LIMIT))
    assert "Zichtbare dia" in _entries(strip_office(PPTX, limit=LIMIT))["ppt/slides/slide1.xml"].decode()


def test_d22_tracked_changes_are_accepted_and_comment_anchors_removed() -> None:
    document = _xml(strip_office(DOCX, limit=LIMIT), "word/document.xml")
    for tag in ("del", "ins", "moveFrom", "moveTo", "delText", "rPrChange", "moveFromRangeStart",
                "moveToRangeEnd", "commentRangeStart", "commentRangeEnd", "commentReference"):  # fmt: skip
        assert document.findall(f".//w:{tag}", NS) == [], tag
    assert document.findall(".//w:rPr/w:b", NS)  # the accepted formatting stays
    assert b"Verwijzingopmerking" not in etree.tostring(document)  # the comment reference's run went too
    assert len(document.findall(".//w:r", NS)) == 6  # of 9: the deleted, the moved-away and that one


def test_d22_deleted_text_outside_a_deletion_mark_goes_too() -> None:
    stray = (
        "<w:p><w:r><w:delText>Pietje Puk</w:delText></w:r><w:r><w:delInstrText>Kanariestraat</w:delInstrText>"
        "</w:r><w:r><w:t>blijft</w:t></w:r></w:p><w:sectPr/>"
    )
    document = str(_docx_parts()["word/document.xml"]).replace("<w:sectPr/>", stray)
    copy = _entries(strip_office(_with("word/document.xml", document), limit=LIMIT))["word/document.xml"]
    assert _leaks(copy.decode()) == []
    assert b"blijft" in copy


def test_d8_authors_of_what_remains_are_neutral_and_undated() -> None:
    table = (
        '<w:tbl><w:tr><w:tc><w:tcPr><w:cellIns w:id="9" w:author="Jan Melder" w:date="2024-05-01T10:00:00Z"/>'
        "</w:tcPr><w:p/></w:tc></w:tr></w:tbl><w:sectPr/>"
    )
    document = str(_docx_parts()["word/document.xml"]).replace("<w:sectPr/>", table)
    copy = strip_office(_with("word/document.xml", document), limit=LIMIT)
    cell = _xml(copy, "word/document.xml").find(".//w:cellIns", NS)
    assert cell is not None
    assert cell.get(f"{{{W}}}author") == "Auteur"
    assert cell.get(f"{{{W}}}date") is None


def test_d22_metadata_parts_keep_only_their_root() -> None:
    copy = strip_office(DOCX, limit=LIMIT)
    core = _xml(copy, "docProps/core.xml")
    assert (
        core.tag == "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}coreProperties"
    )
    assert len(core) == 0
    app = _xml(copy, "docProps/app.xml")
    assert [etree.QName(child).localname for child in app] == ["Application", "DocSecurity", "AppVersion"]
    for name in ("docProps/custom.xml", "word/comments.xml", "word/people.xml"):
        assert len(_xml(copy, name)) == 0, name
    settings_part = _xml(copy, "word/settings.xml")
    assert settings_part.find("w:attachedTemplate", NS) is None
    assert settings_part.find("w:docVars", NS) is None
    assert b"Relationship " not in _entries(copy)["word/_rels/settings.xml.rels"]


def test_d22_excel_comments_keep_the_lists_their_schema_requires_and_the_revision_log_goes() -> None:
    copy = strip_office(XLSX, limit=LIMIT)
    comments = _xml(copy, "xl/comments1.xml")
    assert [etree.QName(child).localname for child in comments] == ["authors", "commentList"]
    assert all(len(child) == 0 for child in comments)
    assert len(_xml(copy, "xl/persons/person.xml")) == 0
    assert len(_xml(copy, "xl/threadedComments/threadedComment1.xml")) == 0
    assert not [name for name in _entries(copy) if name.startswith("xl/revisions/")]
    assert b"revisions/" not in _entries(copy)["[Content_Types].xml"]
    workbook = _xml(copy, "xl/workbook.xml")
    assert workbook.find("s:fileSharing", NS).get("userName") is None  # type: ignore[union-attr]


def test_d22_powerpoint_comment_authors_and_comments_keep_only_their_root() -> None:
    copy = strip_office(PPTX, limit=LIMIT)
    for name in ("ppt/commentAuthors.xml", "ppt/comments/comment1.xml", "ppt/comments/modernComment_100.xml",
                 "ppt/authors.xml"):  # fmt: skip
        assert len(_xml(copy, name)) == 0, name


def test_d22_the_thumbnail_goes_with_its_relationship_and_override() -> None:
    copy = _entries(strip_office(DOCX, limit=LIMIT))
    assert not [name for name in copy if "thumbnail" in name.lower()]
    assert b"thumbnail" not in copy["_rels/.rels"]
    assert b"/docProps/thumbnail.jpeg" not in copy["[Content_Types].xml"]
    assert b'Extension="jpeg"' in copy["[Content_Types].xml"]  # a Default stays


@pytest.mark.parametrize("kind", CUSTOM_XML)
def test_d8_d22_custom_xml_data_goes_with_its_relationships_and_overrides(kind: str) -> None:
    original = CUSTOM_XML[kind]
    assert set(_leaks(_all_text(original))) >= set(SHAREPOINT_CANARIES)
    copy = strip_office(original, limit=LIMIT)
    entries = _entries(copy)
    assert _leaks(_all_text(copy)) == []
    assert not [name for name in entries if "customxml/" in name.lower() or "lijstdata/" in name]
    types = [
        rel.get("Type")
        for name, body in entries.items()
        if name.endswith(".rels")
        for rel in etree.fromstring(body).iter(f"{{{PKG_RELS}}}Relationship")
    ]
    assert types
    assert [t for t in types if t in CUSTOM_XML_TYPES] == []
    content_types = entries["[Content_Types].xml"]
    assert b"customXml" not in content_types
    assert b'Extension="xml"' in content_types  # a Default stays
    names = {name.lower() for name in entries}
    assert [t for t in _internal_targets(entries) if t[1].lower() not in names] == []
    assert strip_office(copy, limit=LIMIT) == copy


def test_d8_d22_bound_content_controls_lose_their_binding_and_keep_their_text() -> None:
    copy = strip_office(CUSTOM_XML["docx"], limit=LIMIT)
    document = _xml(copy, "word/document.xml")
    assert document.findall(".//w:dataBinding", NS) == []
    assert document.findall(".//w15:dataBinding", NS) == []
    assert STORE_ITEM.encode() not in _entries(copy)["word/document.xml"]
    assert [t.text for t in document.findall(".//w:sdtContent//w:t", NS)] == ["Zichtbaar", "Zichtbaar"]
    assert document.find(".//w:sdtPr/w:alias", NS) is not None  # the content control itself stays


def test_a_custom_xml_relationship_to_the_content_types_does_not_unmake_the_package() -> None:
    rels = str(_docx_parts()["word/_rels/document.xml.rels"]).replace(
        "</Relationships>",
        f'<Relationship Id="rId9" Type="{REL}customXml" Target="../[Content_Types].xml"/></Relationships>',
    )
    copy = strip_office(_with("word/_rels/document.xml.rels", rels), limit=LIMIT)
    assert b"customXml" not in _entries(copy)["word/_rels/document.xml.rels"]
    assert strip_office(copy, limit=LIMIT) == copy


def _internal_targets(entries: dict[str, bytes]) -> list[tuple[str, str]]:
    found = []
    for name, body in entries.items():
        if not name.endswith(".rels"):
            continue
        folder = posixpath.dirname(posixpath.dirname(name))
        for rel in etree.fromstring(body).iter(f"{{{PKG_RELS}}}Relationship"):
            if rel.get("TargetMode") != "External":
                target = unquote(rel.get("Target", ""))
                path = target if target.startswith("/") else posixpath.join("/", folder, target)
                found.append((name, posixpath.normpath(path).lstrip("/")))
    return found


@PACKAGES
def test_the_copy_is_a_sound_package(original: bytes) -> None:
    copy = strip_office(original, limit=LIMIT)
    with zipfile.ZipFile(io.BytesIO(copy)) as archive:
        assert archive.testzip() is None
        assert archive.comment == b""
        infos = archive.infolist()
    kept = [name for name in _entries(original) if name in _entries(copy) and name != "[Content_Types].xml"]
    assert [info.filename for info in infos] == ["[Content_Types].xml", *kept]
    assert {(i.date_time, i.compress_type, i.extra) for i in infos} == {
        ((1980, 1, 1, 0, 0, 0), zipfile.ZIP_DEFLATED, b"")
    }
    entries = _entries(copy)
    for name, body in entries.items():
        if name.endswith((".xml", ".rels")):
            assert etree.fromstring(body) is not None, name
    names = {name.lower() for name in entries}
    assert _internal_targets(entries)
    assert [t for t in _internal_targets(entries) if t[1].lower() not in names] == []
    overrides = etree.fromstring(entries["[Content_Types].xml"]).iter(f"{{{CT}}}Override")
    assert [
        o.get("PartName") for o in overrides if o.get("PartName", "").lstrip("/").lower() not in names
    ] == []


def test_content_types_come_first_in_the_copy_wherever_they_were() -> None:
    parts = _docx_parts()
    parts["[Content_Types].xml"] = parts.pop("[Content_Types].xml")
    original = _package(parts)
    assert next(iter(_entries(original))) != "[Content_Types].xml"
    assert next(iter(_entries(strip_office(original, limit=LIMIT)))) == "[Content_Types].xml"


def test_the_embedded_workbook_is_a_cleaned_sound_package() -> None:
    embedded = _entries(strip_office(DOCX, limit=LIMIT))["word/embeddings/Microsoft_Excel_Worksheet.xlsx"]
    assert _entries(embedded).keys() == _entries(strip_office(XLSX, limit=LIMIT)).keys()
    assert _leaks(_all_text(embedded)) == []


@PACKAGES
def test_the_copy_is_deterministic_and_cleaning_it_again_changes_nothing(original: bytes) -> None:
    copy = strip_office(original, limit=LIMIT)
    assert strip_office(original, limit=LIMIT) == copy
    assert strip_office(copy, limit=LIMIT) == copy


# --- hostile packages ----------------------------------------------------------------------------


def _refusal(data: bytes, *, limit: int = LIMIT, hidden: tuple[str, ...] = ()) -> str:
    with pytest.raises(InvalidInput) as refused:
        strip_office(data, limit=limit)
    message = str(refused.value)
    assert _leaks(message) == []
    assert not [word for word in hidden if word.lower() in message.lower()]
    return message


def _with(name: str, body: str | bytes) -> bytes:
    """The docx with one part replaced."""
    return _package({**_docx_parts(), name: body})


def _patch_entry(data: bytes, name: str, *, size: int | None = None, flag: int | None = None) -> bytes:
    """``data`` whose local and central headers of ``name`` declare ``size`` or carry flag bits ``flag``."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        local = archive.getinfo(name).header_offset
    central = out.index(b"PK\x01\x02")
    while out[central + 46 : central + 46 + struct.unpack_from("<H", out, central + 28)[0]] != name.encode():
        central = out.index(b"PK\x01\x02", central + 1)
    for offset, size_at, flag_at in ((local, 22, 6), (central, 24, 8)):
        if size is not None:
            struct.pack_into("<I", out, offset + size_at, size)
        if flag is not None:
            struct.pack_into("<H", out, offset + flag_at, flag)
    return bytes(out)


@pytest.mark.parametrize(
    "data",
    [b"", b"not a zip at all", b"%PDF-1.7\n", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096)],
    ids=["empty", "text", "pdf", "ole-password-protected"],
)
def test_bytes_that_are_no_office_open_xml_package_are_refused(data: bytes) -> None:
    assert "not an Office Open XML package" in _refusal(data)


def test_a_zip_bomb_that_lies_about_its_size_is_refused() -> None:
    bomb_body = f'<w:document xmlns:w="{W}">'.encode() + b" " * (8 * LIMIT) + b"</w:document>"
    bomb = _patch_entry(_with("word/document.xml", bomb_body), "word/document.xml", size=100)
    assert len(bomb) < LIMIT
    _refusal(bomb)


def test_a_zip_bomb_that_declares_its_size_is_refused_before_inflating() -> None:
    bomb = _with("word/document.xml", f'<w:document xmlns:w="{W}">' + " " * (2 * LIMIT) + "</w:document>")
    assert "bytes unpacked" in _refusal(bomb)


def test_a_file_larger_than_the_limit_is_refused() -> None:
    assert "at most" in _refusal(DOCX, limit=len(DOCX) - 1)


def test_duplicate_entries_are_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate it is told to write
        for name, body in _docx_parts().items():
            archive.writestr(name, body)
        archive.writestr("WORD/document.xml", "<x/>")  # part names compare case-insensitively
        archive.writestr("word/document.xml", "<x>Pietje Puk</x>")
    assert "duplicate" in _refusal(buffer.getvalue())


@pytest.mark.parametrize("name", ["../evil.xml", "word/../../evil.xml", "/evil.xml", "word\\evil.xml",
                                  "C:/evil.xml", "word//evil.xml", "./evil.xml"])  # fmt: skip
def test_entry_names_that_leave_the_package_are_refused(name: str) -> None:
    assert "unsafe entry name" in _refusal(_package({**_docx_parts(), name: "<evil/>"}), hidden=("evil",))


def test_a_package_without_content_types_is_refused() -> None:
    parts = _docx_parts()
    del parts["[Content_Types].xml"]
    _refusal(_package(parts))


def test_encrypted_entries_are_refused() -> None:
    assert "encrypted" in _refusal(_patch_entry(DOCX, "word/comments.xml", flag=0x1))


def test_a_compression_office_never_uses_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in _docx_parts().items():
            archive.writestr(
                name, body, compress_type=zipfile.ZIP_BZIP2 if name.startswith("word/") else None
            )
    assert "compression" in _refusal(buffer.getvalue())


def test_too_many_entries_are_refused() -> None:
    parts: dict[str, str | bytes] = {
        **_docx_parts(),
        **{f"word/media/i{n}.png": b"" for n in range(MAX_ENTRIES)},
    }
    assert "entries" in _refusal(_package(parts), limit=10 * LIMIT)


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "Pietje Puk">'
    + "".join(f'<!ENTITY lol{n} "' + f"&lol{n - 1};" * 10 + '">' for n in range(1, 10))
    + f']><w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>'
)


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, f'<!DOCTYPE w:document SYSTEM "file:///etc/passwd"><w:document xmlns:w="{W}"/>',
     f'<!DOCTYPE w:document [<!ENTITY n "Pietje Puk">]><w:document xmlns:w="{W}">&n;</w:document>',
     f'<w:document xmlns:w="{W}"><w:t>Pietje Puk', f'<w:document xmlns:w="{W}">&undefined;</w:document>'],
    ids=["billion-laughs", "external-dtd", "internal-entity", "truncated", "undefined-entity"],
)  # fmt: skip
def test_xml_with_a_dtd_or_not_well_formed_is_refused(body: str) -> None:
    _refusal(_with("word/document.xml", body))


def test_packages_nested_deeper_than_two_levels_are_refused() -> None:
    embedded = "word/embeddings/Microsoft_Excel_Worksheet.xlsx"
    two_deep = _with(embedded, DOCX)  # docx ⊃ docx ⊃ xlsx
    assert _leaks(_all_text(strip_office(two_deep, limit=LIMIT))) == []
    assert "nests" in _refusal(_with(embedded, two_deep))


def test_an_embedded_package_that_is_no_package_is_refused() -> None:
    _refusal(_with("word/embeddings/Microsoft_Excel_Worksheet.xlsx", b"\xd0\xcf\x11\xe0 Pietje Puk"))


def _copy_or_refusal(data: bytes) -> bytes | InvalidInput:
    """Any other exception fails the test."""
    try:
        return strip_office(data, limit=LIMIT)
    except InvalidInput as refused:
        return refused


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=4096), st.binary(max_size=4096).map(lambda b: b"PK\x03\x04" + b)))
def test_arbitrary_bytes_give_a_copy_or_invalid_input(data: bytes) -> None:
    outcome = _copy_or_refusal(data)
    assert isinstance(outcome, bytes | InvalidInput)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(DOCX) - 1), st.integers(0, 255), st.booleans())
def test_a_corrupted_or_truncated_docx_gives_a_copy_or_invalid_input(
    index: int, byte: int, cut: bool
) -> None:
    data = DOCX[:index] if cut else DOCX[:index] + bytes([byte]) + DOCX[index + 1 :]
    outcome = _copy_or_refusal(data)
    assert _leaks(_all_text(outcome) if isinstance(outcome, bytes) else str(outcome)) == []


def test_d8_a_picture_in_the_document_loses_its_maker_and_an_embedded_ole_object_is_refused() -> None:
    assert b"Jan Melder" in IMAGE
    assert b"Jan Melder" not in _entries(strip_office(DOCX, limit=LIMIT))["word/media/image1.png"]
    broken = _with("word/media/image2.jpeg", b"\xff\xd8\xff\xe1\x40\x00Exif Jan Melder")
    assert "cannot be cleaned" in _refusal(broken)
    ole = _with("word/embeddings/oleObject1.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 Jan Melder")
    assert "embedded objects or macros" in _refusal(ole)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as inner:
        inner.writestr("notities.txt", "Jan Melder")
    assert "not an Office Open XML package" in _refusal(
        _with("word/embeddings/bijlage.bin", zipped.getvalue())
    )
