"""``vault witness …``: run a witness (its own process, directory and key), print its key, publish.

``serve`` and ``key`` need nothing of a vault: another organisation (the privacy officer, the
municipality, the Inspectie) runs them stand-alone. ``publish`` is the vault's side: sign a
checkpoint and ask the witnesses of ``VAULT_AUDIT_WITNESSES`` to cosign it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vault.cli.common import echo_err, opened_vault
from vault.errors import InvalidInput

app = typer.Typer(help="Checkpoint witness (C2SP tlog-witness): serve, key, publish.", no_args_is_help=True)

DirOption = Annotated[
    Path, typer.Option("--dir", help="The witness's own directory (key file, state).", file_okay=False)
]
NameOption = Annotated[
    str | None, typer.Option("--name", help="Cosigner name for a new key (e.g. fg.example.nl/witness).")
]


@app.command("key")
def key(directory: DirOption, name: NameOption = None) -> None:
    """Print the witness's verifier key; the key is created in DIR (mode 0600) on first use."""
    from vault.witness.keys import load_or_create_key

    typer.echo(load_or_create_key(directory, name).verifier_key)


@app.command("serve")
def serve(
    directory: DirOption,
    log: Annotated[
        list[str],
        typer.Option("--log", help="A log to witness: '<origin> <log verifier key>' (repeatable)."),
    ],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 7380,
    name: NameOption = None,
) -> None:
    """Serve POST /add-checkpoint for the given logs, cosigning only checkpoints that extend the last."""
    import uvicorn

    from vault.witness.app import create_witness_app
    from vault.witness.service import parse_log_option

    logs = [parse_log_option(entry) for entry in log]
    if len({known.origin for known in logs}) != len(logs):
        raise InvalidInput("each log origin may be given once")
    witness_app = create_witness_app(directory, logs, name=name)
    typer.echo(f"witness {witness_app.state.witness.key.verifier_key} on http://{host}:{port}", err=True)
    uvicorn.run(witness_app, host=host, port=port, access_log=False, log_config=None, server_header=False)


@app.command("publish")
def publish() -> None:
    """Sign a checkpoint over the log now and ask the configured witnesses; exit 1 without the quorum."""
    from vault.witness.client import publish_latest

    vault = opened_vault()
    try:
        result = publish_latest(vault)
    finally:
        vault.close()
    for item in result.results:
        typer.echo(f"{item.name}: {'cosigned' if item.cosigned else 'missing — ' + (item.reason or '')}")
    if not result.results:
        echo_err("no witnesses configured (VAULT_AUDIT_WITNESSES)")
        raise typer.Exit(1)
    if not result.published:
        echo_err(
            f"checkpoint {result.size} has {len(result.cosigned)} of {result.quorum} cosignatures needed"
        )
        raise typer.Exit(1)
    typer.echo(f"checkpoint {result.size} published ({len(result.cosigned)} cosignatures)")
