"""``vault audit …``: verify the chain."""

from __future__ import annotations

import typer

from vault.audit import verify_chain
from vault.cli.common import echo_err, opened_vault

app = typer.Typer(help="The audit log: verify, checkpoint, export.", no_args_is_help=True)


@app.command("verify")
def verify() -> None:
    """Recompute the hash chain; exit 0 when intact, otherwise 1 and the first bad entry."""
    vault = opened_vault()
    try:
        with vault.db.session() as session:
            report = verify_chain(session)
    finally:
        vault.close()
    if report.ok:
        typer.echo(f"audit log intact: {report.entries} entries, head {report.head_hash[:16]}")
        return
    echo_err(f"audit log broken at entry {report.first_bad_seq}: {report.reason}")
    raise typer.Exit(1)
