"""``vault cases …``: deadline overviews for an operator (ids and dates only, audited as the operator)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from vault.cli.common import opened_vault, operator_context
from vault.services import worklists

cases_app = typer.Typer(
    help="Cases: deadlines across the organisation (ids and dates only).", no_args_is_help=True
)


@cases_app.command("overdue")
def overdue(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List everything past its date: triage (D5), investigation start and judgement, monitoring (D7)."""
    vault = opened_vault()
    try:
        items = worklists.overdue(vault, operator_context(vault))
    finally:
        vault.close()
    for item in items:
        if as_json:
            typer.echo(
                json.dumps(
                    {"case_id": item.case_id, "what": item.what, "due_on": item.due_on.isoformat()},
                    sort_keys=True,
                )
            )
        else:
            typer.echo(f"{item.case_id}  {item.what:<20} due {item.due_on.isoformat()}")
    if not as_json:
        typer.echo(f"{len(items)} overdue", err=True)
