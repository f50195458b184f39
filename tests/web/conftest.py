"""Browser fixtures: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, and a real
uvicorn server on 127.0.0.1 over the test's vault (FrozenClock and all).

Without /usr/bin/chromium the browser tests SKIP with a loud reason — unless VAULT_REQUIRE_BROWSER=1,
in which case they FAIL (CI sets it so a missing browser can never pass silently).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.web.world import World, build_world
from vault.app import create_app
from vault.runtime import Vault

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _browser_missing_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"BROWSER TESTS NOT RUN: {CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "BROWSER TESTS NOT RUN: the playwright package is not installed in the venv"
    return None


def require_browser() -> None:
    reason = _browser_missing_reason()
    if reason is None:
        return
    if os.environ.get("VAULT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} — and VAULT_REQUIRE_BROWSER=1 demands them", pytrace=False)
    warnings.warn(reason, stacklevel=1)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per module (a fresh, empty profile each launch); contexts per test."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerThread:
    """A uvicorn server in a background thread; ``stop()`` ends it and waits."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


@pytest.fixture
def live_server(vault: Vault, world: World) -> Iterator[ServerThread]:
    require_browser()
    server = ServerThread(create_app(vault)).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
