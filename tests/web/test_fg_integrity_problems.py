"""The privacy officer's integrity page when a witness has a problem, in the real browser (D16, D20):
a witness that lost its record, then a log rewritten and re-signed after it was witnessed. The page
says so in Dutch, names the witness, fits a 375 px phone and passes axe-core.

Real witness processes (``vault witness serve``) on loopback, as in tests/witness.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.pages import PHONE, assert_accessible, assert_fits_a_phone
from tests.web.test_browser import login
from tests.web.world import World
from tests.witness.conftest import WitnessProcess, free_port, log_entry
from tests.witness.helpers import checkpoint_after, rewrite_and_resign
from vault.context import FrozenClock
from vault.runtime import Vault
from vault.witness.client import publish_checkpoint

pytestmark = pytest.mark.browser

LOST = "Deze getuige meldt een kleiner log dan hij eerder medeondertekende"
REWRITTEN = "De bewaarde medeondertekening klopt niet meer met het controlepunt"


@pytest.fixture(autouse=True)
def _checkpoints_only_by_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the live server starts: no periodic checkpointer racing the test's own checkpoints."""
    monkeypatch.setenv("VAULT_AUDIT_CHECKPOINT_MINUTES", "0")


@pytest.fixture
def witnesses(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[WitnessProcess]]:
    started = [
        WitnessProcess(name, tmp_path / name.split(".")[0], free_port(), [log_entry(vault)])
        for name in ("gemeente.example/witness", "fg.example/witness")
    ]
    try:
        for witness in started:
            witness.start()
        monkeypatch.setenv("VAULT_AUDIT_WITNESSES", "\n".join(w.config_entry for w in started))
        monkeypatch.setenv("VAULT_AUDIT_WITNESS_QUORUM", "2")
        monkeypatch.setenv("VAULT_AUDIT_WITNESS_TIMEOUT_SECONDS", "5")
        yield started
    finally:
        for witness in started:
            witness.stop()


def _problem_of(page: Any, name: str) -> str:
    item = page.locator("li", has_text=name)
    text: str = item.inner_text()
    return text


def test_d16_integrity_page_names_a_witness_that_lost_its_record_and_a_rewritten_log(
    browser: Any,
    live_server: Any,
    world: World,
    vault: Vault,
    clock: FrozenClock,
    witnesses: list[WitnessProcess],
    screenshots: Path,
) -> None:
    first = checkpoint_after(vault, 3)
    assert publish_checkpoint(vault, first).published
    lost, kept = witnesses
    lost.stop()  # a new disk: its state file is gone, its key is kept
    (lost.directory / "state.json").unlink()
    lost.start()
    second = checkpoint_after(vault, 2)
    assert not publish_checkpoint(vault, second).published

    context = browser.new_context(locale="nl-NL", viewport=PHONE)
    try:
        page = context.new_page()
        base = live_server.url
        login(page, base, world.officer, clock)
        page.goto(f"{base}/fg/integriteit")
        alert = page.get_by_role("alert").filter(has_text="niet gepubliceerd")
        assert "Ontbreekt: gemeente.example/witness" in alert.inner_text()
        assert LOST in _problem_of(page, lost.name)
        assert "laatst medeondertekend bij" in _problem_of(page, lost.name)
        assert "Meld dit direct bij de beheerder" in _problem_of(page, lost.name)
        assert LOST not in _problem_of(page, kept.name)
        assert "lost or rolled back" not in page.content()  # the English reason stays in the API
        assert_fits_a_phone(page)
        assert_accessible(page)
        page.screenshot(path=str(screenshots / "34-fg-integriteit-getuige-kwijt.png"), full_page=True)

        # The database owner rewrites an entry the witnesses saw and re-signs the latest checkpoint
        # with the vault's own key: the cosignature the kept witness gave no longer verifies.
        rewrite_and_resign(vault, 2, second.size)
        page.goto(f"{base}/fg/integriteit")
        alarm = page.get_by_role("alert").first.inner_text()
        assert "Niet in orde" in alarm
        assert "veranderd nadat zij het zagen" in alarm
        assert REWRITTEN in _problem_of(page, kept.name)
        assert LOST in _problem_of(page, lost.name)  # it never cosigned the rewritten checkpoint
        assert_fits_a_phone(page)
        assert_accessible(page)
        page.screenshot(path=str(screenshots / "35-fg-integriteit-log-herschreven.png"), full_page=True)
    finally:
        context.close()
