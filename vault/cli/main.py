"""Entry point of the ``vault`` command."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from typing import Annotated, NoReturn

import typer

from vault import __version__
from vault.cli import accounts as accounts_cli
from vault.cli import audit as audit_cli
from vault.cli import cases as cases_cli
from vault.cli import keys as keys_cli
from vault.cli import policy as policy_cli
from vault.cli import rights as rights_cli
from vault.cli import witness as witness_cli
from vault.cli.common import DEBUG, checked_settings, echo_err
from vault.config import Settings, load_settings
from vault.errors import ConfigError, VaultError

app = typer.Typer(
    help="Dossier vault for a Veilig Thuis organisation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(audit_cli.app, name="audit")
app.add_typer(accounts_cli.team_app, name="team")
app.add_typer(accounts_cli.org_app, name="org")
app.add_typer(accounts_cli.user_app, name="user")
app.add_typer(keys_cli.keys_app, name="keys")
app.add_typer(keys_cli.blobs_app, name="blobs")
app.add_typer(policy_cli.app, name="policy")
app.add_typer(cases_cli.cases_app, name="cases")
app.add_typer(rights_cli.retention_app, name="retention")
app.add_typer(rights_cli.rights_app, name="rights")
app.add_typer(witness_cli.app, name="witness")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vault {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    DEBUG["enabled"] = debug


@app.command()
def init() -> None:
    """Create VAULT_HOME, the key file (mode 0600) and the schema. Safe to run again."""
    from vault.services.setup import initialise

    settings = load_settings()
    vault = initialise(settings)
    vault.close()
    typer.echo(f"vault initialised in {settings.resolved_home}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default VAULT_HOST).")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default VAULT_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=16, help="Worker processes.")] = 1,
) -> None:
    """Serve the API and web UI (uvicorn with httptools + uvloop)."""
    from vault.runtime import open_vault

    settings = checked_settings()
    vault = open_vault(settings)  # refuse early, with a one-line error, if not initialised
    sqlite = vault.db.is_sqlite
    from vault.services.kek_backups import backup_key_status

    backups = backup_key_status(vault)
    vault.close()
    _check_password_hashing(settings, host)
    if backups is not None and "NOT authenticated" in backups:
        typer.echo(f"warning: {backups}", err=True)
    if sqlite and workers > 1:
        typer.echo(
            "warning: SQLite has one writer: several workers wait on each other (serve SQLite with one "
            "worker, or use PostgreSQL)",
            err=True,
        )
    if settings.root_key_beside_data:
        typer.echo(
            "warning: the root key file (VAULT_ROOT_KEY_FILE) lies beside the data in VAULT_HOME: one copy "
            "of that folder opens every dossier. Keep it elsewhere (another disk, not in backups of "
            "VAULT_HOME), or use the pkcs11 or openbao key provider (docs/security.md)",
            err=True,
        )
    _run_server(settings, host, port, workers)


def _check_password_hashing(settings: Settings, host: str | None) -> None:
    """The test suite's cheap hashing profile: refused (ConfigError, one line, exit 2) for a server that
    could be a deployment, and a loud warning for the local plain-HTTP server the tests start."""
    problem = settings.insecure_hashing_problem(host or settings.host)
    if problem is not None:
        raise ConfigError(problem)
    if settings.password_hashing == "fast_insecure_for_tests":  # noqa: S105
        typer.echo(
            "warning: VAULT_PASSWORD_HASHING=fast_insecure_for_tests: every password this server sets is "
            "hashed with trivially cheap parameters; for the test suite only, never for real accounts",
            err=True,
        )


def _run_server(settings: Settings, host: str | None, port: int | None, workers: int) -> None:
    """uvicorn, believing X-Forwarded-For only from the proxies named in VAULT_FORWARDED_ALLOW_IPS
    (uvicorn by default believes 127.0.0.1: a local proxy passing a client's header on would let the
    client choose the address its rate limits count under)."""
    import uvicorn

    from vault.services.policy_admin import claim_pidfile, remove_pidfile

    home = settings.resolved_home
    # The one server of this home: refused here (one line, exit 1) before a port is bound, with any
    # number of workers; the workers' own claims then name this process and change nothing.
    claim_pidfile(home, os.getpid())
    proxies = settings.forwarded_allow_ips
    try:
        uvicorn.run(
            "vault.app:create_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or None,
            loop="uvloop",
            http="httptools",
            access_log=False,
            log_config=None,
            server_header=False,
        )
    finally:
        remove_pidfile(home)


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port.")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Load the demo data, do not serve.")] = False,
) -> None:
    """Initialise, load the clearly marked DEMO dataset, print how to log in, and serve."""
    from vault.services.demo import load_demo
    from vault.services.setup import initialise

    settings = checked_settings()
    if not no_serve:
        _check_password_hashing(settings, host)
    vault = initialise(settings)
    try:
        lines = load_demo(vault, qr=True)
    finally:
        vault.close()
    for line in lines:
        typer.echo(line)
    if not no_serve:
        typer.echo(f"Serving on http://{host or settings.host}:{port or settings.port}")
        _run_server(settings, host, port, 1)


_EXIT_CODES: dict[type[VaultError], int] = {ConfigError: 2}


def main() -> None:
    """Run the CLI; domain errors print one line (no traceback unless --debug) and exit non-zero.

    Usage errors (an unknown command, a bad option value) are left to typer's standalone mode: it prints
    its usage message and exits 2, whatever copy of click this typer version raises them from (typer 0.29
    bundles its own as ``typer._click``; catching the ``click`` package's exceptions here missed them all).
    ``typer.Exit`` becomes its exit code, Ctrl-C and an aborted prompt end as typer ends them. Commands
    signal failure by raising, never by returning a value (standalone mode ignores what they return).
    """
    os.umask(os.umask(0o077) | 0o077)  # everything written to VAULT_HOME is private (0600 / 0700)
    try:
        try:
            app(standalone_mode=True)
        finally:
            sys.stdout.flush()  # output still buffered fails here, not in the interpreter's flush at exit
    except VaultError as exc:
        if DEBUG["enabled"]:
            traceback.print_exc()
        echo_err(exc.message)
        sys.exit(_EXIT_CODES.get(type(exc), 1))
    except OSError as exc:
        if exc.filename is not None:  # not the output (writing a stream names no file): a traceback
            raise
        _output_failed(exc)
    sys.exit(0)


def _output_failed(exc: OSError) -> NoReturn:
    """Standard output could not be written (a full disk, a closed pipe): one line, exit 1. typer ends a
    closed pipe met inside a command itself (exit 1, silently); this is what is left, a full disk and a
    pipe closed before the buffered output reached it. The line names the OS's reason, never the output.
    What is still buffered goes to devnull, so the interpreter's flush at exit fails no second time (the
    advice on SIGPIPE in Python's ``signal`` documentation)."""
    if DEBUG["enabled"]:
        traceback.print_exc()
    echo_err(f"writing the output failed ({exc.strerror or type(exc).__name__})")
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(1)


if __name__ == "__main__":
    main()
