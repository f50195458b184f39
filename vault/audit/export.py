"""Export of audit entries (NEN 7513 fields) as CSV or JSON, streamed so memory stays flat.

The export is audited first (``audit:log:exported``, committed) and then read from a read snapshot:
an export that fails half-way has still been recorded, and the snapshot never blocks appends.
The log holds ids and codes only, so an export holds no personal data either.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from typing import Any, TextIO

from vault.audit.chain import format_time
from vault.audit.log import record
from vault.context import Context
from vault.domain import AuditTag
from vault.repositories import audit as audit_repo
from vault.repositories.audit import ENTRY_COLUMNS, EntryFilter
from vault.runtime import Vault

__all__ = ["ExportFormat", "export_entries", "json_value"]

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection). Object ids
# can come from a request (an unknown document id is logged as asked), so CSV cells are defused with
# a leading apostrophe; the JSON export is the byte-faithful one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def json_value(value: Any) -> Any:
    return format_time(value) if isinstance(value, datetime) else value


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_time(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _filter_details(filters: EntryFilter, fmt: ExportFormat) -> dict[str, str | bool | None]:
    return {
        "format": fmt.value,
        "actor_filter": filters.actor_id,
        "tag_filter": filters.tag,
        "from": filters.since.isoformat() if filters.since else None,
        "to": filters.until.isoformat() if filters.until else None,
    }


def _rows(vault: Vault, filters: EntryFilter) -> Iterator[dict[str, Any]]:
    with audit_repo.read_snapshot(vault.db) as conn:
        yield from audit_repo.iter_entry_rows(conn, filters)


def export_entries(vault: Vault, ctx: Context, filters: EntryFilter, fmt: ExportFormat, out: TextIO) -> int:
    """Write every matching entry, oldest first, to ``out``; return how many were written."""
    with vault.db.session() as session:
        record(
            session,
            ctx,
            AuditTag.AUDIT_LOG_EXPORTED,
            case_id=filters.case_id,
            object_type="audit_log",
            purpose="audit-export",
            details=_filter_details(filters, fmt),
        )
    count = 0
    if fmt is ExportFormat.CSV:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(ENTRY_COLUMNS)
        for row in _rows(vault, filters):
            writer.writerow([_csv_cell(row[name]) for name in ENTRY_COLUMNS])
            count += 1
        return count
    out.write("[")
    for row in _rows(vault, filters):
        out.write(",\n" if count else "\n")
        out.write(json.dumps({name: json_value(row[name]) for name in ENTRY_COLUMNS}, ensure_ascii=True))
        count += 1
    out.write("\n]\n")
    return count
