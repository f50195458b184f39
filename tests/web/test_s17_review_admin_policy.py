"""Session 17 review: the administrator's policy page ("Toegangsbeleid") compared the policy in force
with the reviewed files on disk by their number of lines only, and read the default files rather than
the ones the running engine was built from. A changed line (an allow made a deny, a rule moved) that
was not reloaded yet showed "Laden zonder fouten (N regels)" beside "Regels in gebruik: N": the page
said nothing about the change not being in force, or about a change made on disk behind the
administrator's back. Now the page compares the digest of the lines (``policy_admin.policy_digest``)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import ServerThread
from tests.web.pages import assert_accessible, assert_fits_a_phone
from tests.web.test_admin_routes import make_admin
from tests.web.world import PASSWORD, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.policy import DEFAULT_MODEL_PATH, DEFAULT_POLICY_PATH, PolicyHolder
from vault.runtime import Vault
from vault.services.policy_admin import reload_policy

SAME = "gelijk aan het beleid in gebruik"
DIFFERENT = "wijken af van het beleid in gebruik"
BREAK_GLASS = "p, staff, read, content, break_glass, allow, p:break-glass-read"


def test_s17_the_policy_page_says_when_the_files_differ_from_the_policy_in_force(
    vault: Vault, clock: FrozenClock, tmp_path: Path
) -> None:
    model, policy = tmp_path / "model.conf", tmp_path / "policy.csv"
    shutil.copyfile(DEFAULT_MODEL_PATH, model)
    shutil.copyfile(DEFAULT_POLICY_PATH, policy)
    vault.policy = PolicyHolder(model, policy)
    admin = make_admin(vault)
    with TestClient(create_app(vault)) as client:
        web_login(client, admin, clock)
        page = client.get("/beheer/beleid")
        assert page.status_code == 200
        assert SAME in page.text
        assert DIFFERENT not in page.text

        text = policy.read_text(encoding="utf-8")
        assert BREAK_GLASS in text
        policy.write_text(text.replace(BREAK_GLASS, BREAK_GLASS.replace("allow", "deny")), encoding="utf-8")
        page = client.get("/beheer/beleid")  # same number of lines, one decision changed
        assert DIFFERENT in page.text
        assert "vault policy reload" in page.text
        assert SAME not in page.text

        reload_policy(vault, Context.system(access_point="sighup", clock=clock))
        page = client.get("/beheer/beleid")
        assert SAME in page.text
        assert DIFFERENT not in page.text


@pytest.mark.browser
def test_s17_the_policy_page_with_files_not_in_force_fits_a_phone_and_passes_axe(
    browser: Any, vault: Vault, clock: FrozenClock, tmp_path: Path, screenshots: Path
) -> None:
    model, policy = tmp_path / "model.conf", tmp_path / "policy.csv"
    shutil.copyfile(DEFAULT_MODEL_PATH, model)
    shutil.copyfile(DEFAULT_POLICY_PATH, policy)
    vault.policy = PolicyHolder(model, policy)
    text = policy.read_text(encoding="utf-8")
    policy.write_text(text.replace(BREAK_GLASS, BREAK_GLASS.replace("allow", "deny")), encoding="utf-8")
    admin = make_admin(vault)
    server = ServerThread(create_app(vault)).start()
    try:
        context = browser.new_context(locale="nl-NL", viewport={"width": 375, "height": 740}, is_mobile=True)
        page = context.new_page()
        page.goto(f"{server.url}/login")
        page.get_by_label("Gebruikersnaam").fill(admin.username)
        page.get_by_label("Wachtwoord").fill(PASSWORD)
        page.get_by_role("button", name="Volgende").click()
        page.wait_for_url(f"{server.url}/tweede-factor")
        page.get_by_label("Code van 6 cijfers").fill(admin.code(clock))
        page.get_by_role("button", name="Aanmelden", exact=True).click()
        page.wait_for_url(f"{server.url}/beheer")
        page.goto(f"{server.url}/beheer/beleid")
        assert DIFFERENT in page.inner_text("main")
        assert_fits_a_phone(page)
        assert_accessible(page)
        page.screenshot(path=str(screenshots / "s17-beheer-beleid-wijkt-af.png"), full_page=True)
        context.close()
    finally:
        server.stop()
