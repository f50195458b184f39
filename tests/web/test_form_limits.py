"""Review 4: text within a form's character limit is never refused for its bytes (CRLF line breaks,
scripts of 2–4 bytes a character); over the limit, the form names the field in Dutch and keeps what
was typed. A file that is too large is a 413 "Bestand te groot" on the form, the title kept. A link
with a malformed id is a 404 page, not "Formulier onvolledig"."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.world import World, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import Category
from vault.models import Case, Document
from vault.runtime import Vault
from vault.services.pow import solve
from vault.web.multipart import PUBLIC_FORM, FieldTooLong, StreamedForm

EMPTY_FILE = ("", b"", "application/octet-stream")
TIGRINYA = "ሰላም ኣብ ገዛና ጸገም ኣሎ። "  # 3 bytes a character in UTF-8


@pytest.fixture
def worker(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        yield client


def _small(vault: Vault) -> Vault:
    """The same vault with an upload limit of 100 kB."""
    return replace(vault, settings=vault.settings.model_copy(update={"max_upload_bytes": 100_000}))


def _statements(vault: Vault, case_id: str) -> int:
    with vault.db.session() as session:
        query = select(func.count()).where(
            Document.case_id == case_id, Document.category == Category.STATEMENT
        )
        return int(session.scalar(query) or 0)


def _statement_text(characters: int, line_breaks: int, unit: str = "Zo is het gegaan. ") -> str:
    """``characters`` characters (a line break counted once, as ``maxlength`` counts it), sent with
    CRLF line breaks as a browser sends a textarea."""
    line = (characters - line_breaks) // (line_breaks + 1)
    lines = [(unit * (line // len(unit) + 1))[:line] for _ in range(line_breaks + 1)]
    text = "\n".join(lines)
    text += "x" * (characters - len(text))
    assert len(text) == characters
    return text.replace("\n", "\r\n")


# --- Finding 1: the byte bounds of the multipart reader against the forms' character limits -------


def test_the_public_reader_takes_10000_characters_of_four_bytes_and_names_a_field_over_its_bound() -> None:
    boundary = b"grens"

    def body(name: str, value: str) -> list[bytes]:
        part = f'--grens\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n--grens--\r\n'
        return [part.encode()]

    form = StreamedForm(boundary, body("zorgen", "𝕏" * 10_000), PUBLIC_FORM)  # 40,000 bytes
    form.read_fields()
    assert len(form.fields["zorgen"]) == 10_000
    with pytest.raises(FieldTooLong) as refused:
        StreamedForm(
            boundary, body("naam", "x" * (PUBLIC_FORM.max_field_bytes + 1)), PUBLIC_FORM
        ).read_fields()
    assert refused.value.field == "naam"


def test_d14_a_statement_of_19900_characters_with_crlf_line_breaks_is_stored(
    worker: TestClient, vault: Vault, world: World
) -> None:
    """The reviewer's case: 19,900 characters with 209 line breaks (20,109 bytes as sent); and the
    same length in a script of 3 bytes a character."""
    path = f"/zaken/{world.case_id}/documenten/{world.withheld_doc}/zienswijze"
    before = _statements(vault, world.case_id)
    for text in (_statement_text(19_900, 209), _statement_text(19_900, 209, TIGRINYA)):
        token = csrf_of(worker.get(path).text)
        r = worker.post(
            path,
            data={"csrf_token": token, "title": "Zienswijze", "text": text},
            files={"file": EMPTY_FILE},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:500]
    assert _statements(vault, world.case_id) == before + 2


def test_d14_a_statement_over_20000_characters_is_refused_on_its_field_and_kept(
    worker: TestClient, vault: Vault, world: World
) -> None:
    path = f"/zaken/{world.case_id}/documenten/{world.withheld_doc}/zienswijze"
    before = _statements(vault, world.case_id)
    text = _statement_text(20_001, 10)
    r = worker.post(
        path,
        data={"csrf_token": csrf_of(worker.get(path).text), "title": "Mijn kant", "text": text},
        files={"file": EMPTY_FILE},
    )
    assert r.status_code == 400
    assert "De zienswijze is te lang: ten hoogste 20.000 tekens" in r.text
    assert 'aria-invalid="true" aria-describedby="text-fout text-hint"' in r.text
    assert 'href="#text"' in r.text
    assert 'value="Mijn kant"' in r.text
    assert text.replace("\r\n", "\n")[:200] in r.text.replace("\r\n", "\n")
    assert _statements(vault, world.case_id) == before


def _public_post(client: TestClient, path: str, **fields: str) -> dict[str, object]:
    data = client.get("/formulier/uitdaging").json()
    body = {"uitdaging": data["challenge"], "teller": solve(data["challenge"], data["bits"]), "website": ""}
    body.update(fields)
    r = client.post(path, data=body, files={"bijlage": EMPTY_FILE})
    answer: dict[str, object] = r.json()
    answer["status"] = r.status_code
    return answer


def _cases(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


def test_a_citizens_report_of_9500_tigrinya_characters_is_received(vault: Vault, world: World) -> None:
    concern = (TIGRINYA * 600)[:9_000] + "\r\n" * 250  # 9,250 characters, ~27,500 bytes
    with TestClient(create_app(vault)) as client:
        answer = _public_post(
            client,
            "/melden/burger",
            naam="Een buur",
            contact="0612345678",
            relatie="buren",
            betrokkene_rol="kind",
            zorgen=concern,
        )
    assert answer["status"] == 201, answer
    assert answer["ok"] is True


def test_a_public_field_over_its_limit_is_named_with_its_field_and_nothing_is_stored(
    vault: Vault, world: World
) -> None:
    """Over the character limit (the form's check) and over the reader's byte bound (the reader
    stops): both name the field in Dutch and its id, never "laad de pagina opnieuw"."""
    before = _cases(vault)
    with TestClient(create_app(vault)) as client:
        over_limit = _public_post(client, "/advies/burger", zorgen="a" * 10_001)
        over_bound = _public_post(client, "/advies/burger", zorgen="Ik twijfel.", relatie="x" * 60_000)
        name_over_bound = _public_post(
            client, "/melden/burger", naam="n" * 60_000, contact="06", relatie="buren", zorgen="z"
        )
    assert over_limit["status"] == 400
    assert over_limit["problems"] == ["Waar maakt u zich zorgen over is te lang (maximaal 10000 tekens)."]
    assert over_limit["fields"] == ["zorgen"]
    assert "opnieuw" not in str(over_limit["message"]).split(".")[0]
    assert name_over_bound["status"] == 400
    assert name_over_bound["problems"] == ["Uw naam is te lang (maximaal 200 tekens)."]
    assert name_over_bound["fields"] == ["naam"]
    assert "blijft staan" in str(name_over_bound["message"])
    assert over_bound["status"] == 400  # a choice is no text field: named as the form, not a field
    assert over_bound["fields"] == [None]
    assert _cases(vault) == before


# --- Finding 3: too large, missing file, long title: the form again, the title kept ----------------


def test_d14_a_statement_file_over_the_limit_is_413_on_the_file_field_with_the_title_kept(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    small = _small(vault)
    path = f"/zaken/{world.case_id}/documenten/{world.withheld_doc}/zienswijze"
    before = _statements(vault, world.case_id)
    with TestClient(create_app(small)) as client:
        web_login(client, world.worker, clock)
        r = client.post(
            path,
            data={"csrf_token": csrf_of(client.get(path).text), "title": "Brief van moeder", "text": ""},
            files={"file": ("brief.pdf", b"%PDF" + b"0" * 300_000, "application/pdf")},
        )
    assert r.status_code == 413
    assert "Bestand te groot" in r.text
    assert "Het bestand is groter dan 0,1 MB" in r.text
    assert 'value="Brief van moeder"' in r.text
    assert 'id="file" name="file" type="file" aria-invalid="true" aria-describedby="file-fout"' in r.text
    assert _statements(vault, world.case_id) == before


def _documents(vault: Vault, case_id: str) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).where(Document.case_id == case_id)) or 0)


def test_upload_without_script_shows_the_form_again_with_the_error_on_its_field(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    small = _small(vault)
    path = f"/zaken/{world.case_id}/documenten"
    before = _documents(vault, world.case_id)
    with TestClient(create_app(small)) as client:
        web_login(client, world.worker, clock)
        token = csrf_of(client.get(f"/zaken/{world.case_id}").text)

        def send(title: str, file: tuple[str, bytes, str]) -> object:
            data = {"csrf_token": token, "category": "report", "title": title}
            return client.post(path, data=data, files={"file": file})

        too_large = send("Verslag school", ("verslag.pdf", b"0" * 300_000, "application/pdf"))
        missing = send("Verslag school", EMPTY_FILE)
        long_title = send("t" * 300, ("v.txt", b"inhoud", "text/plain"))
    assert too_large.status_code == 413  # type: ignore[attr-defined]
    assert "Bestand te groot" in too_large.text  # type: ignore[attr-defined]
    assert "Het bestand is groter dan 0,1 MB" in too_large.text  # type: ignore[attr-defined]
    assert 'value="Verslag school"' in too_large.text  # type: ignore[attr-defined]
    assert missing.status_code == 400  # type: ignore[attr-defined]
    assert "Kies een bestand." in missing.text  # type: ignore[attr-defined]
    assert 'aria-invalid="true" aria-describedby="file-fout"' in missing.text  # type: ignore[attr-defined]
    assert 'value="report" selected' in missing.text  # type: ignore[attr-defined]
    assert 'value="Verslag school"' in missing.text  # type: ignore[attr-defined]
    assert long_title.status_code == 400  # type: ignore[attr-defined]
    assert 'aria-invalid="true" aria-describedby="title-fout"' in long_title.text  # type: ignore[attr-defined]
    assert _documents(vault, world.case_id) == before


# --- Finding 5: a link with a malformed id, a long query value, a wrong method ----------------------


def test_a_malformed_or_cut_off_id_in_a_link_is_a_dutch_404_page(worker: TestClient, world: World) -> None:
    for path in (
        f"/zaken/{world.case_id[:30]}/triage",
        f"/zaken/{world.case_id}/verstrekkingen/{world.grant_id[:20]}/verlengen",
        f"/documenten/{world.granted_doc[:-2]}/inhoud",
        "/inzageverzoeken/123",
    ):
        r = worker.get(path)
        assert r.status_code == 404, path
        assert "Niet gevonden" in r.text
        assert "Formulier onvolledig" not in r.text
    # The JSON API keeps its 422.
    assert worker.get("/api/v1/cases/not-a-uuid").status_code in {401, 422}


def test_a_get_on_a_post_only_path_is_405_and_a_long_query_value_is_left_out(
    worker: TestClient, vault: Vault
) -> None:
    r = worker.get("/fg/logcontrole/controle")
    assert r.status_code == 405
    assert "Niet toegestaan" in r.text
    with TestClient(create_app(vault)) as anonymous:
        r = anonymous.get(
            "/login?reden=sessie-verlopen-door-inactiviteit-" + "x" * 100, follow_redirects=False
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/login"
        r = anonymous.get("/login?reden=" + "x" * 200)
        assert r.status_code == 200
        assert 'name="username"' in r.text
