"""D19 on the start page: after 20 person lookups in ten minutes the 21st is refused with a 429 and a
Dutch message beside the form, which keeps what was typed; nothing is looked up."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.world import World, build_world, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.runtime import Vault

NAME = "Sanne Bakker"


def test_d19_lookup_page_refuses_the_21st_lookup_with_429_in_dutch(vault: Vault, clock: FrozenClock) -> None:
    world: World = build_world(vault)
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        token = csrf_of(client.get("/").text)
        for day in range(1, 21):
            form = {"name": NAME, "date_of_birth": f"2015-01-{day:02d}", "csrf_token": token}
            assert client.post("/zoeken", data=form).status_code == 200
        form = {"name": NAME, "date_of_birth": "2015-09-17", "csrf_token": token}
        r = client.post("/zoeken", data=form)
        assert r.status_code == 429, r.text[:300]
        assert int(r.headers["Retry-After"]) > 0
        assert "U heeft in korte tijd veel personen opgezocht" in r.text
        assert f'value="{NAME}"' in r.text  # the form keeps what was typed
        assert 'value="2015-09-17"' in r.text
        assert "Traceback" not in r.text

        clock.advance(minutes=11)
        assert client.post("/zoeken", data=form).status_code == 200
