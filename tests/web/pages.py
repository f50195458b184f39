"""What every page a person uses must pass, checked in the real browser: axe-core finds no serious or
critical accessibility violation, and the page fits a 375 px phone without sideways scrolling.

axe-core comes from npm (``package.json``; ``make`` installs it into ``node_modules``). Without it the
check skips loudly — unless VAULT_REQUIRE_BROWSER=1, which makes it fail.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 375, "height": 740}
_BLOCKING = {"serious", "critical"}


_SOURCE: list[str] = []


def _axe_source() -> str:
    if not _SOURCE:
        _SOURCE.append(AXE.read_text(encoding="utf-8") + "\n;undefined")
    return _SOURCE[0]


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """The serious and critical axe-core violations of the page as it is now (rule id, impact, nodes)."""
    if not AXE.exists():
        reason = f"ACCESSIBILITY CHECK NOT RUN: {AXE} is missing (run `make install`: npm ci)"
        if os.environ.get("VAULT_REQUIRE_BROWSER") == "1":
            pytest.fail(reason, pytrace=False)
        warnings.warn(reason, stacklevel=2)
        return []
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Through the DevTools protocol, not a <script> tag: the vault's CSP (script-src 'self') rightly
        # refuses inline scripts, and the check must not weaken the page it checks.
        page.evaluate(_axe_source())
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v.get("impact") in _BLOCKING
    ]


def assert_accessible(page: Any) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe-core on {page.url}: {violations}"


def sideways_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than its viewport (0 when it fits)."""
    width: int = page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )
    return max(width, 0)


def assert_fits_a_phone(page: Any) -> None:
    """The page at 375 px wide: no sideways scrolling. Measured once the page has loaded: a table read
    right after a click may be laid out before the stylesheet arrived (on a busy machine)."""
    page.wait_for_load_state("load")
    page.set_viewport_size(PHONE)
    overflow = sideways_overflow(page)
    assert overflow == 0, f"{page.url} is {overflow} px wider than a 375 px phone"


def checked_page(page: Any, case_id: str) -> str:
    """The text of the page's ``main`` after the checks every page a person uses must pass: no case
    id shown (whole or its first eight characters), it fits a 375 px phone, axe-core finds nothing
    serious."""
    body: str = page.locator("main").inner_text()
    assert case_id not in body
    assert case_id[:8] not in body
    assert_fits_a_phone(page)
    assert_accessible(page)
    return body
