"""``vault policy …``: check the reviewed policy files and reload them in the running server."""

from __future__ import annotations

import typer

from vault.cli.common import echo_err
from vault.config import load_settings
from vault.services.policy_admin import check_policy_files, signal_servers

app = typer.Typer(help="The static policy (policies/model.conf, policies/policy.csv).", no_args_is_help=True)


@app.command("check")
def check() -> None:
    """Parse the model and policy exactly as a reload would."""
    typer.echo(f"policy loads: {check_policy_files()} lines")


@app.command("reload")
def reload() -> None:
    """Check the files, then tell the running server (SIGHUP) to build a new engine and swap it in."""
    lines = check_policy_files()
    pid = signal_servers(load_settings().resolved_home)
    if pid is None:
        echo_err("no running server recorded in VAULT_HOME; the policy loads when the server starts")
        raise typer.Exit(1)
    typer.echo(f"policy checked ({lines} lines); server {pid} told to reload")
