"""``vault team|org|user …``: account administration from the command line (audited as the operator)."""

from __future__ import annotations

from typing import Annotated

import typer

from vault.auth import AuthConfig
from vault.cli.common import opened_vault, operator_context
from vault.services import accounts
from vault.transaction import transaction

team_app = typer.Typer(help="Teams of Veilig Thuis staff.", no_args_is_help=True)
org_app = typer.Typer(help="Partner organisations.", no_args_is_help=True)
user_app = typer.Typer(help="Accounts: add, disable, enable, reset the second factor.", no_args_is_help=True)


@team_app.command("add")
def team_add(name: Annotated[str, typer.Argument(help="Team name.")]) -> None:
    """Create a team."""
    vault = opened_vault()
    try:
        with transaction(vault.db) as session:
            team = accounts.create_team(session, operator_context(vault), name)
    finally:
        vault.close()
    typer.echo(f"team created: {team.id}")


@team_app.command("add-member")
def team_add_member(
    team: Annotated[str, typer.Argument(help="Team name.")],
    username: Annotated[str, typer.Argument(help="Login name of a staff member.")],
) -> None:
    """Add a staff member to a team (audited)."""
    _membership(team, username, member=True)


@team_app.command("remove-member")
def team_remove_member(
    team: Annotated[str, typer.Argument(help="Team name.")],
    username: Annotated[str, typer.Argument(help="Login name of a staff member.")],
) -> None:
    """Remove a staff member from a team (audited); their access to its cases ends at once, including
    their assignments to that team's cases (each one ended and audited)."""
    _membership(team, username, member=False)


def _membership(team: str, username: str, *, member: bool) -> None:
    vault = opened_vault()
    try:
        with transaction(vault.db) as session:
            changed = accounts.change_membership(
                session, operator_context(vault), team=team, username=username, member=member
            )
    finally:
        vault.close()
    typer.echo(("added to team" if member else "removed from team") if changed else "nothing to change")


@org_app.command("add")
def org_add(
    name: Annotated[str, typer.Argument(help="Organisation name.")],
    org_type: Annotated[str, typer.Option("--type", help="Organisation type (vault.domain.OrgType).")],
) -> None:
    """Create a partner organisation."""
    vault = opened_vault()
    try:
        with transaction(vault.db) as session:
            org = accounts.create_organisation(session, operator_context(vault), name, org_type)
    finally:
        vault.close()
    typer.echo(f"organisation created: {org.id}")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Login name (a–z, 0–9, . _ -).")],
    role: Annotated[str, typer.Option("--role", help="Role (vault.domain.Role).")],
    team: Annotated[str | None, typer.Option("--team", help="Team name (staff roles).")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Organisation name (partners).")] = None,
) -> None:
    """Create an account and print its one-time initial password (it is stored only as a hash)."""
    vault = opened_vault()
    try:
        with transaction(vault.db) as session:
            created = accounts.create_user(
                session,
                operator_context(vault),
                AuthConfig.from_vault(vault),
                username=username,
                role=role,
                team=team,
                org=org,
            )
    finally:
        vault.close()
    typer.echo(f"user created: {created.username} ({created.role}) id {created.user_id}")
    typer.echo(f"initial password (shown once): {created.initial_password}")
    typer.echo("at first login the user enrols a TOTP authenticator app and replaces this password")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Disable an account and end all its sessions."""
    vault = opened_vault()
    try:
        with transaction(vault.db) as session:
            user = accounts.disable_user(session, operator_context(vault), username)
    finally:
        vault.close()
    typer.echo(f"user disabled: {user.id}; all sessions ended")


@user_app.command("enable")
def user_enable(username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Enable a disabled account again; it keeps its password and second factor, and has no cases."""
    vault = opened_vault()
    try:
        with transaction(vault.db) as session:
            changed = accounts.enable_user(session, operator_context(vault), username)
    finally:
        vault.close()
    if not changed:
        typer.echo(f"user {username} was not disabled; nothing changed")
        return
    typer.echo(f"user enabled: {username}; it starts without case assignments")
    typer.echo("disabled over a suspected compromise? also: vault user reset-password, vault user reset-2fa")


@user_app.command("reset-password")
def user_reset_password(username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """A new one-time password for a forgotten or expired one; all sessions end. Printed once."""
    vault = opened_vault()
    try:
        with transaction(vault.db) as session:
            reset = accounts.reset_password(
                session, operator_context(vault), AuthConfig.from_vault(vault), username
            )
        days = vault.settings.generated_password_days
    finally:
        vault.close()
    typer.echo(f"password reset: {reset.user_id}; all sessions ended")
    typer.echo(f"new password (shown once): {reset.initial_password}")
    typer.echo(f"it signs in for {days} days; at that sign-in the user chooses their own")


@user_app.command("reset-2fa")
def user_reset_2fa(username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Remove the user's TOTP factor and recovery codes and end all sessions; they enrol again."""
    vault = opened_vault()
    try:
        with transaction(vault.db) as session:
            user = accounts.reset_second_factor(session, operator_context(vault), username)
    finally:
        vault.close()
    typer.echo(f"second factor reset: {user.id}; the user enrols again at next login")
