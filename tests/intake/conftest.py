"""Intake fixtures: the browser harness of tests/web, a neutral local page for the quick exit, and
settings with a small proof of work (the real default is exercised in tests/intake/test_pow.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import (  # noqa: F401 — fixtures shared with the staff web tests
    ServerThread,
    browser,
    context,
    free_port,
    page,
    require_browser,
    screenshots,
)
from tests.web.world import TEAM, World, build_world
from vault.app import create_app
from vault.config import Settings
from vault.runtime import Vault

NEUTRAL_TITLE = "Weerbericht"


class _Neutral(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"<!doctype html><title>{NEUTRAL_TITLE}</title><h1>{NEUTRAL_TITLE}</h1><p>Zonnig.</p>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def neutral_site() -> Iterator[str]:
    """A second tiny local server: the neutral site of the quick exit (never the internet)."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Neutral)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/weer"
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, neutral_site: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        password_hashing="fast_insecure_for_tests",
        cookie_secure=False,
        quick_exit_url=neutral_site,
        intake_team=TEAM,
        intake_pow_bits=12,
        intake_limit_per_hour=20,
        intake_ceiling_per_hour=30,
        intake_max_bytes=1024 * 1024,
    )


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


@pytest.fixture
def live_server(vault: Vault, world: World) -> Iterator[ServerThread]:
    require_browser()
    server = ServerThread(create_app(vault)).start()
    yield server
    server.stop()
