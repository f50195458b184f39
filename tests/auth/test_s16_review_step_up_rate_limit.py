"""Session 16 review, A3 (D17; "bad input loses nothing"): a form carried through the step-up
(``/bevestigen``, ``mee.``-fields: a disclosure's purpose, a break-the-glass justification, a new
validity date) was thrown away when the second-factor rate limit refused the next code: the answer
was the generic "Te veel pogingen" page, without the form, so after the wait everything had to be
typed again. Now the step-up page itself answers 429 in Dutch, says how long to wait (and
``Retry-After``), and still carries every field; after the wait the right code sends the form on.

Real app, real database, real TOTP; the FrozenClock is the only double.
"""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient

from tests.web.world import build_world, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.runtime import Vault

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _hidden(html: str) -> list[tuple[str, str]]:
    return [(name, unescape(value)) for name, value in _HIDDEN.findall(html)]


def test_d17_the_step_up_rate_limit_keeps_the_carried_form(vault: Vault, clock: FrozenClock) -> None:
    world = build_world(vault)
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        token = csrf_of(client.get(f"/zaken/{world.case_id}").text)
        path = f"/zaken/{world.case_id}/verstrekkingen/{world.grant_id}/verlengen"
        step = {"csrf_token": token, "terug": path, "mee.valid_until": "01-01-2031"}
        for _ in range(5):
            wrong = client.post("/bevestigen", data={**step, "code": "000000"}, follow_redirects=False)
            assert wrong.status_code == 401

        refused = client.post("/bevestigen", data={**step, "code": "000000"}, follow_redirects=False)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert "Te veel pogingen" in refused.text
        # Before: the generic error page, without the form that was being carried.
        assert ("mee.valid_until", "01-01-2031") in _hidden(refused.text)
        assert ("terug", path) in _hidden(refused.text)
        assert 'name="code"' in refused.text

        clock.advance(seconds=int(refused.headers["retry-after"]))
        done = client.post(
            "/bevestigen", data={**step, "code": world.worker.code(clock)}, follow_redirects=False
        )
        assert done.status_code == 200, done.text
        assert ("valid_until", "01-01-2031") in _hidden(done.text)
