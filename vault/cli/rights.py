"""``vault retention …`` and ``vault rights …``: the 20-year sweep, certificates, the AVG register."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from vault.cli.common import create_binary_output, opened_vault, operator_context
from vault.services import destruction
from vault.services.pdf import certificate_pdf
from vault.services.rights import processing_register
from vault.services.sweep import sweep_expired, sweep_unmatched_explanations

retention_app = typer.Typer(help="Retention (D11): sweep expired cases, certificates.", no_args_is_help=True)
rights_app = typer.Typer(
    help="Data subjects' rights: the register of processing activities.", no_args_is_help=True
)


class CertificateFormat(StrEnum):
    json = "json"
    pdf = "pdf"


@retention_app.command("sweep")
def sweep(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be destroyed.")] = False,
) -> None:
    """Destroy every case past its retention deadline (keys erased, content removed), and erase the
    explanations of re-identifications that matched no case after a year; safe to rerun."""
    vault = opened_vault()
    ctx = operator_context(vault)
    count = kept = moved = 0
    try:
        for item in sweep_expired(vault, ctx, dry_run=dry_run):
            count = item.total
            verb = "would destroy" if dry_run else "destroyed"
            if item.waits:
                verb = "kept (an access request about it is open; answer it first)"
                kept += 1
            elif item.kept:  # D11: extended or changed after the sweep listed it; not due any more
                verb = "kept (not due any more: extended or changed meanwhile)"
                moved += 1
            typer.echo(
                f"[{item.done}/{item.total}] {verb} case {item.case_id} (due {item.destroy_after:%Y-%m-%d})"
            )
        erased = sweep_unmatched_explanations(vault, ctx, dry_run=dry_run)
    finally:
        vault.close()
    typer.echo(f"{count - kept - moved} expired cases {'found' if dry_run else 'destroyed'}")
    if kept:
        typer.echo(f"{kept} expired case(s) kept until their open access request is answered")
    typer.echo(
        f"{erased} re-identification explanation(s) without a matching case, over a year old, "
        f"{'due for erasure' if dry_run else 'erased'}"
    )


@retention_app.command("certificate")
def certificate(
    case_id: str,
    fmt: Annotated[CertificateFormat, typer.Option("--format")] = CertificateFormat.json,
    output: Annotated[
        Path | None, typer.Option(help="Write to this file instead of standard output.")
    ] = None,
) -> None:
    """The signed destruction certificate of a case, as JSON or PDF."""
    if fmt is CertificateFormat.pdf and output is None:
        typer.echo("error: a PDF needs --output FILE", err=True)
        raise typer.Exit(2)
    out = create_binary_output(output) if output else None  # refused before anything is read
    try:
        vault = opened_vault()
        try:
            cert = destruction.certificate_for(vault, operator_context(vault), case_id)
            if not destruction.verify_certificate(vault, cert):
                typer.echo("error: the certificate's signature does not verify", err=True)
                raise typer.Exit(1)
        finally:
            vault.close()
        if fmt is CertificateFormat.pdf:
            data = certificate_pdf(cert)
        else:
            body = {"body": json.loads(cert.body), "signature": cert.signature}
            data = (json.dumps(body, indent=2, sort_keys=True) + "\n").encode()
        if out is None:
            sys.stdout.write(data.decode())
        else:
            out.write(data)
    except BaseException:
        if out is not None and output is not None:
            out.close()
            output.unlink(missing_ok=True)  # ours (made with "x"): nothing half-written stays
        raise
    finally:
        if out is not None:
            out.close()


@rights_app.command("register")
def register() -> None:
    """The register of processing activities (AVG art. 30) as JSON."""
    typer.echo(json.dumps(processing_register(), indent=2, sort_keys=True))
