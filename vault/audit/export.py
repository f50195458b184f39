"""Export of audit entries (NEN 7513 fields) as CSV or JSON, streamed so memory stays flat.

The export is audited first (``audit:log:exported``, committed) and then read from a read snapshot:
an export that fails half-way has still been recorded, and the snapshot never blocks appends.
The log holds ids and codes only, so an export holds no personal data either — except the privacy
officer's export, which adds each emergency access's written justification (free text, D20).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from vault.audit import break_glass as emergency
from vault.audit import queries as audit_repo
from vault.audit.chain import format_time
from vault.audit.log import record
from vault.audit.queries import ENTRY_COLUMNS, EntryFilter
from vault.context import Context
from vault.crypto.spool import SealedSpool
from vault.domain import AuditTag, Decision
from vault.errors import InvalidInput
from vault.runtime import Vault

__all__ = [
    "ACTOR_ID_PATTERN",
    "CASE_ID_PATTERN",
    "JUSTIFICATION_COLUMNS",
    "CsvStyle",
    "ExportFormat",
    "check_filter_terms",
    "export_entries",
    "json_value",
    "matched_terms",
    "sealed_export",
]

# The ids the log holds, and nothing else, may be searched for: a search or export records its terms
# (``audit:log:searched``, ``audit:log:exported``), and the log is permanent, so a name or a phone
# number typed as a term would stay in it for good (D16: no plaintext personal data in an entry).
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
CASE_ID_PATTERN = rf"^{_UUID}$"
# An actor is an account (UUID), the vault itself (``Context.system``), the public forms
# (``vault.services.intake``) or a CLI operator under their OS account name (``operator_context``).
# ``os:uid:<n>`` is an operator whose uid has no account (``vault.cli.common.operator_account``).
ACTOR_ID_PATTERN = rf"^(?:{_UUID}|system|public_form|os:[A-Za-z0-9._-]{{1,61}}|os:uid:[0-9]{{1,10}})$"
_CASE_ID = re.compile(CASE_ID_PATTERN)
_ACTOR_ID = re.compile(ACTOR_ID_PATTERN)
_TAGS = frozenset(str(tag) for tag in AuditTag)
_DECISIONS = frozenset(str(d) for d in Decision)

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection). Object ids
# can come from a request (an unknown document id is logged as asked), and a justification is free
# text, so CSV cells are defused with a leading apostrophe; the JSON export is the byte-faithful one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Every line break a reader may end a row or a line at becomes ``\n`` inside the (always quoted) cell:
# a bare CR is a row end to Excel and LibreOffice even where Python's csv module would leave it
# unquoted, and each line of a cell is defused on its own, as a spreadsheet may start a row there.
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def json_value(value: Any) -> Any:
    return format_time(value) if isinstance(value, datetime) else value


@dataclass(frozen=True)
class CsvStyle:
    """How a CSV export reads: the machine form by default (``,``, codes, canonical UTC times). The
    privacy officer's web export passes a Dutch style (``vault.web.fg_reports.DUTCH_CSV``): ``;`` and
    a byte-order mark for Dutch Excel, Dutch headers, labels for codes, local times."""

    delimiter: str = ","
    bom: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # column → code → label
    yes_no: tuple[str, str] = ("true", "false")
    time: Callable[[datetime], str] = format_time


_MACHINE = CsvStyle()


def _defused(text: str) -> str:
    """``text`` with every line break ``\\n`` and every line that a spreadsheet would run as a formula
    (at the start of the cell or after a line break) behind a leading apostrophe."""
    lines = _LINE_BREAKS.sub("\n", text).split("\n")
    return "\n".join("'" + line if line.startswith(_FORMULA_START) else line for line in lines)


class TextSink(Protocol):
    """Where an export writes its text: an open text file, ``sys.stdout``, a ``SealedSpool``."""

    def write(self, text: str, /) -> int: ...


def _csv_writer(out: TextSink, style: CsvStyle) -> Any:
    """Every field quoted, so no character of a cell (a line break, a delimiter) is read as the end of
    a cell or a row; ``_csv_cell`` leaves no bare CR, so rows end at the ``\\n`` between them only."""
    return csv.writer(out, delimiter=style.delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)


def _csv_cell(value: Any, style: CsvStyle = _MACHINE, column: str = "") -> str:
    """One cell; a text (or a line of it) that a spreadsheet would run as a formula gets a leading
    apostrophe, and its line breaks are ``\\n`` (``_defused``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return style.yes_no[0] if value else style.yes_no[1]
    if isinstance(value, datetime):
        return style.time(value)
    text = str(value)
    text = style.labels.get(column, {}).get(text, text)
    return _defused(text)


def check_filter_terms(filters: EntryFilter) -> None:
    """Refuse a search or export term that is not an id or code of the log, before anything is
    recorded: a case id is a UUID, an actor id one of the forms above, a tag an ``AuditTag``. The
    message names the term, never the value."""
    if filters.case_id is not None and not _CASE_ID.fullmatch(filters.case_id):
        raise InvalidInput("case_id: give a case id (a UUID)")
    if filters.actor_id is not None and not _ACTOR_ID.fullmatch(filters.actor_id):
        raise InvalidInput("actor_id: give an actor id (a UUID, system, public_form or os:<account>)")
    if filters.tag is not None and filters.tag not in _TAGS:
        raise InvalidInput("tag: give an action tag of the log (for example dossier:case:read)")
    if filters.decision is not None and filters.decision not in _DECISIONS:
        raise InvalidInput("decision: give allow or deny")
    if filters.since is not None and filters.until is not None and filters.since > filters.until:
        # An empty answer would read as "nobody did anything" (a slip, from and to swapped).
        raise InvalidInput("from: the period ends before it begins; give from before to")


def _filter_details(filters: EntryFilter, fmt: ExportFormat) -> dict[str, str | int | bool | None]:
    return {
        "format": fmt.value,
        "case_filter": filters.case_id,
        "actor_filter": filters.actor_id,
        "tag_filter": filters.tag,
        "decision_filter": filters.decision,
        "break_glass_filter": filters.break_glass,
        "cases_matched": None if filters.case_ids is None else len(filters.case_ids),
        "actors_matched": None if filters.actor_ids is None else len(filters.actor_ids),
        "from": filters.since.isoformat() if filters.since else None,
        "to": filters.until.isoformat() if filters.until else None,
        **matched_terms(filters),
    }


def matched_terms(filters: EntryFilter) -> dict[str, str]:
    """The ids a typed reference or username stood for (``case_ids``, ``actor_ids``), each under its
    own key (``case_1``…, ``actor_1``…; a detail is one id): the entry of a search or export by name
    says whose log was read, not only how many matched (D16; at most ``MAX_MATCHES`` of each)."""
    return {
        f"{kind}_{number}": value
        for kind, ids in (("case", filters.case_ids), ("actor", filters.actor_ids))
        for number, value in enumerate(ids or (), 1)
    }


def _one_case(filters: EntryFilter) -> str | None:
    """The case an export is about (so it shows in that case's access report), if exactly one."""
    if filters.case_id is not None:
        return filters.case_id
    return filters.case_ids[0] if filters.case_ids is not None and len(filters.case_ids) == 1 else None


# With ``justifications`` (the privacy officer's export, D20): each break-the-glass entry's emergency
# access number and its written justification, opened from ``break_glass_accesses`` — never from the
# log, which holds ids only.
JUSTIFICATION_COLUMNS = ("break_glass_access", "break_glass_justification")


def _rows(vault: Vault, filters: EntryFilter, justifications: bool) -> Iterator[dict[str, Any]]:
    with audit_repo.read_snapshot(vault.db) as conn:
        if not justifications:
            yield from audit_repo.iter_entry_rows(conn, filters)
            return
        opened: dict[int, str | None] = {}
        for row in emergency.iter_export_rows(conn, filters):
            sealed = row.pop("justification_enc")
            access = row["break_glass_access"]
            if access is None and row["break_glass"]:
                access = row["break_glass_access"] = row["seq"]  # from before accesses were kept
            if access is not None and access not in opened:
                opened[access] = emergency.open_justification(vault, access, sealed)
            row["break_glass_justification"] = opened.get(access) if access is not None else None
            yield row


def export_entries(
    vault: Vault,
    ctx: Context,
    filters: EntryFilter,
    fmt: ExportFormat,
    out: TextSink,
    *,
    justifications: bool = False,
    style: CsvStyle = _MACHINE,
) -> int:
    """Write every matching entry, oldest first, to ``out``; return how many were written.

    ``justifications=True`` only for the privacy officer (the caller has authorised): break-the-glass
    entries then carry their access number and written justification (``JUSTIFICATION_COLUMNS``).
    ``style`` shapes the CSV (``CsvStyle``); JSON is always the faithful machine form. A term that
    is not an id or code of the log is refused (``check_filter_terms``) with nothing recorded."""
    check_filter_terms(filters)
    with vault.db.session() as session:
        record(
            session,
            ctx,
            AuditTag.AUDIT_LOG_EXPORTED,
            case_id=_one_case(filters),
            object_type="audit_log",
            purpose="audit-export",
            details={**_filter_details(filters, fmt), "justifications": justifications},
        )
    columns = (*ENTRY_COLUMNS, *JUSTIFICATION_COLUMNS) if justifications else ENTRY_COLUMNS
    count = 0
    if fmt is ExportFormat.CSV:
        if style.bom:
            out.write("\ufeff")
        writer = _csv_writer(out, style)
        writer.writerow([_csv_cell(style.headers.get(name, name)) for name in columns])
        for row in _rows(vault, filters, justifications):
            writer.writerow([_csv_cell(row[name], style, name) for name in columns])
            count += 1
        return count
    out.write("[")
    for row in _rows(vault, filters, justifications):
        out.write(",\n" if count else "\n")
        out.write(json.dumps({name: json_value(row[name]) for name in columns}, ensure_ascii=True))
        count += 1
    out.write("\n]\n")
    return count


def sealed_export(
    vault: Vault,
    ctx: Context,
    filters: EntryFilter,
    fmt: ExportFormat,
    *,
    justifications: bool = False,
    style: CsvStyle = _MACHINE,
    memory: int = 8 * 1024 * 1024,
) -> Iterator[bytes]:
    """``export_entries`` written in full before the first byte is sent (recorded, every row read),
    into a ``SealedSpool``: memory up to ``memory``, then a temporary file that holds only ciphertext —
    the justifications the export carries never reach the server's disk in the clear (D18, D20).
    The caller has authorised; the answer is the export's UTF-8 bytes, block by block."""
    spool = SealedSpool(memory)
    try:
        export_entries(vault, ctx, filters, fmt, spool, justifications=justifications, style=style)
    except BaseException:
        spool.close()
        raise
    return spool.chunks()
