"""The Dutch pages answer a refusal by its rule (``VaultError.rule``), never by matching the English
message: every rule a page names must be one a service raises, or the page's words silently fall back
to the generic text."""

from __future__ import annotations

import re
from pathlib import Path

import vault
from vault.web.routes.workflow import _INVESTIGATION_REFUSALS

ROOT = Path(vault.__file__).parent
_PAGE_RULE = re.compile(r'\.rule (?:==|!=) "([a-z0-9-]+)"')
_RAISED = re.compile(r'rule="([a-z0-9-]+)"|RuleRefused\([^"]*?"[^"]*"\)?,?\s*"([a-z0-9-]+)"', re.S)


def _raised() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "services").rglob("*.py"):
        for a, b in _RAISED.findall(path.read_text()):
            found.add(a or b)
    return found


def test_every_rule_a_page_answers_is_raised_by_a_service() -> None:
    named: set[str] = set(_INVESTIGATION_REFUSALS)
    for path in (ROOT / "web").rglob("*.py"):
        named |= set(_PAGE_RULE.findall(path.read_text()))
    assert len(named) >= 10
    assert named - _raised() == set()


def test_no_page_matches_an_english_message() -> None:
    pattern = re.compile(r'"[^"]*" (?:not )?in [a-z_]+\.message')
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in (ROOT / "web").rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
