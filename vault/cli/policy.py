"""``vault policy …``: check the reviewed policy files and reload them in the running server."""

from __future__ import annotations

import typer

from vault.audit import record
from vault.cli.common import echo_err, opened_vault, operator_context
from vault.domain import AuditTag
from vault.services.policy_admin import check_policy_files, load_policy_files, policy_digest, signal_servers
from vault.transaction import transaction

app = typer.Typer(help="The static policy (policies/model.conf, policies/policy.csv).", no_args_is_help=True)


@app.command("check")
def check() -> None:
    """Parse the model and policy exactly as a reload would."""
    typer.echo(f"policy loads: {check_policy_files()} lines")


@app.command("reload")
def reload() -> None:
    """Check the files, then tell the running server (SIGHUP) to build a new engine and swap it in. The
    request is audited under the operator's account (``system:policy:reload-requested``); the server's
    own entry (``system:policy:reload``) names the server, not who asked."""
    lines = check_policy_files()
    vault = opened_vault()
    try:
        current = vault.policy.current
        digest = policy_digest(load_policy_files(current.model_path, current.policy_path))
        pid = signal_servers(vault.settings.resolved_home)
        if pid is None:
            echo_err("no running server recorded in VAULT_HOME; the policy loads when the server starts")
            raise typer.Exit(1)
        with transaction(vault.db) as session:
            details: dict[str, str | int] = {"lines": lines, "policy_sha256": digest, "server_pid": pid}
            record(session, operator_context(vault), AuditTag.SYSTEM_POLICY_RELOAD_REQUESTED, details=details)
    finally:
        vault.close()
    typer.echo(f"policy checked ({lines} lines); server {pid} told to reload")
