"""``vault audit …``: verify, checkpoint, prove, export, and print the checkpoint verifier key."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Final

import typer

from vault.audit.checkpoints import CheckpointSigner, create_checkpoint
from vault.audit.export import ExportFormat, check_filter_terms, export_entries
from vault.audit.proofs import prove_consistency, prove_inclusion
from vault.audit.queries import EntryFilter
from vault.audit.verification import record_verification, verify_log
from vault.cli.common import create_output, echo_err, opened_vault, operator_context
from vault.errors import InvalidInput
from vault.logcontrole.engine import previous_day, run_review
from vault.services.calendar import check_date

app = typer.Typer(help="The audit log: verify, checkpoint, prove, export.", no_args_is_help=True)

# The largest sequence number or tree size there can be (a signed 64-bit id, as the API's MAX_SEQ); a
# larger value is typer's usage error (exit 2), not an OverflowError from the database driver.
MAX_SEQ: Final = 2**63 - 1


@app.command("verify")
def verify() -> None:
    """Recompute the hash chain and every signed checkpoint; exit 0 when intact, else 1 naming the fault."""
    vault = opened_vault()
    try:
        report = verify_log(vault)
        record_verification(vault, operator_context(vault), report)
    finally:
        vault.close()
    if report.ok:
        typer.echo(report.message())
        return
    echo_err(report.message())
    raise typer.Exit(1)


@app.command("checkpoint")
def checkpoint() -> None:
    """Sign a checkpoint over every committed entry (extends the last one) and print its note."""
    vault = opened_vault()
    try:
        info = create_checkpoint(vault, operator_context(vault))
    finally:
        vault.close()
    typer.echo(info.note, nl=False)
    if not info.created:
        typer.echo(f"note: no new entries since checkpoint {info.size}; printed that one", err=True)


@app.command("key")
def key() -> None:
    """Print the signed-note verifier key of the checkpoints (publish it to witnesses and auditors)."""
    vault = opened_vault()
    try:
        typer.echo(CheckpointSigner.for_vault(vault).verifier_key())
    finally:
        vault.close()


@app.command("prove")
def prove(
    seq: Annotated[
        int | None, typer.Option("--seq", min=1, max=MAX_SEQ, help="Entry to prove included.")
    ] = None,
    size: Annotated[
        int | None, typer.Option("--size", min=1, max=MAX_SEQ, help="Checkpoint size (default: latest).")
    ] = None,
    old_size: Annotated[
        int | None,
        typer.Option("--from-size", min=1, max=MAX_SEQ, help="Prove this checkpoint consistent with --size."),
    ] = None,
) -> None:
    """Print an inclusion proof (--seq) or a consistency proof (--from-size) as JSON."""
    if (seq is None) == (old_size is None):
        raise InvalidInput("give exactly one of --seq or --from-size")
    vault = opened_vault()
    try:
        if seq is not None:
            result = prove_inclusion(vault, seq, size=size).as_dict()
        else:
            assert old_size is not None
            result = prove_consistency(vault, old_size, size).as_dict()
    finally:
        vault.close()
    typer.echo(json.dumps(result, indent=2))


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--{name}: not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"--{name}: give a time zone, for example 2026-03-02T09:00:00+01:00 or …Z")
    return check_date(parsed, f"--{name}")  # years 1900 to 2999, as everywhere


@app.command("export")
def export(
    case: Annotated[
        str | None, typer.Option("--case", help="Only entries about this case id (a UUID).")
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option(
            "--actor", help="Only entries by this actor id (a UUID, system, public_form, os:<account>)."
        ),
    ] = None,
    since: Annotated[str | None, typer.Option("--from", help="From this time (ISO 8601, inclusive).")] = None,
    until: Annotated[str | None, typer.Option("--to", help="Until this time (ISO 8601, exclusive).")] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only entries with this action tag.")] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or json.")] = ExportFormat.CSV,
    output: Annotated[Path | None, typer.Option("--output", help="Write here instead of stdout.")] = None,
) -> None:
    """Export entries with every NEN 7513 field, streamed; the export itself is audited with its terms,
    so a term that is not an id or code of the log is refused first (nothing recorded, no file made)."""
    filters = EntryFilter(
        case_id=case, actor_id=actor, tag=tag, since=_when(since, "from"), until=_when(until, "to")
    )
    check_filter_terms(filters)
    vault = opened_vault()
    try:
        ctx = operator_context(vault)
        if output is None:
            count = export_entries(vault, ctx, filters, fmt, sys.stdout)
            sys.stdout.flush()  # written before it is called exported (a failure: one line from main())
        else:
            with create_output(output) as out:  # before the export is recorded: a refusal records nothing
                try:
                    count = export_entries(vault, ctx, filters, fmt, out)
                except BaseException as exc:
                    output.unlink(missing_ok=True)  # ours (made with "x"): no partial export is left behind
                    if isinstance(exc, OSError):  # a full disk, a size limit: one line, not a traceback
                        reason = exc.strerror or type(exc).__name__
                        raise InvalidInput(f"--output: writing {output} failed ({reason}); removed") from None
                    raise
    finally:
        vault.close()
    typer.echo(f"exported {count} entries", err=True)


@app.command("review")
def review(
    since: Annotated[
        str | None,
        typer.Option("--from", help="Start of the period (ISO 8601, inclusive; default: yesterday)."),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", help="End of the period (ISO 8601, exclusive).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """D21 logcontrole: review every access in the period and write findings (idempotent per period)."""
    vault = opened_vault()
    try:
        ctx = operator_context(vault)
        start, end = previous_day(ctx.now())
        start = _when(since, "from") or start
        end = _when(until, "to") or (start + timedelta(days=1) if since is not None else end)
        if quiet:
            result = run_review(vault, ctx, start, end)
        else:
            with typer.progressbar(length=1, label="logcontrole", file=sys.stderr) as bar:

                def progress(done: int, total: int) -> None:
                    bar.length = max(total, 1)
                    bar.update(done - bar.pos)

                result = run_review(vault, ctx, start, end, progress=progress)
    finally:
        vault.close()
    typer.echo(
        json.dumps(
            {
                "from": result.start.isoformat(),
                "to": result.end.isoformat(),
                "entries": result.entries,
                "new": result.new,
                "updated": result.updated,
                "by_detector": result.by_detector,
            }
        )
    )
