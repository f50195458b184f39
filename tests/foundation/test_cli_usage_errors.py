"""Usage errors of the real ``vault`` entry point: typer's usage message, exit 2, never a traceback.

typer 0.29 bundles its own click (``typer._click``); catching the ``click`` package's exceptions let every
usage error escape as a 30-60 line traceback. These run ``python -m vault.cli.main`` in a subprocess, so
they see exactly what an operator sees.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.foundation.test_cli import _env, run_cli

USAGE_ERRORS = [
    (["nosuchcmd"], "No such command 'nosuchcmd'."),
    (["keys", "rotate", "--batch-size", "0"], "Invalid value for '--batch-size'"),
    (["keys", "remove-version", "abc"], "Invalid value for 'version'"),
    (["audit", "prove", "--seq", "0"], "Invalid value for '--seq'"),
    (["audit", "export", "--format", "xml"], "Invalid value for '--format'"),
    (["keys", "rotate", "--retire-after", "abc"], "give a number of days, e.g. 35d"),
    (["audit", "export", "--no-such-option"], "No such option: --no-such-option"),
]


def _plain(text: str) -> str:
    """The message without the box typer draws around it (when rich is installed), one space apart."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_usage_error_is_typers_usage_message_and_exit_2(
    args: list[str], message: str, tmp_path: Path, database_url: str
) -> None:
    proc = run_cli(args, _env(tmp_path / "home", database_url))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stdout == ""
    plain = _plain(proc.stderr)
    assert plain.startswith("Usage: "), proc.stderr
    assert message in plain, proc.stderr
    assert len(proc.stderr.splitlines()) <= 10, proc.stderr


def test_debug_does_not_turn_a_usage_error_into_a_traceback(tmp_path: Path, database_url: str) -> None:
    proc = run_cli(["--debug", "keys", "rotate", "--batch-size", "0"], _env(tmp_path / "home", database_url))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "Invalid value for '--batch-size'" in _plain(proc.stderr)
