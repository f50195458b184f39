"""The public forms keep their word: bad input gets a clear Dutch answer and stores nothing; a report
that was stored is always answered with its reference; every answer is the JSON the page's script
reads (never the generic HTML error page), and never echoes what was typed.

The split-body tests need a real ``vault serve``: only a real server hands the body to the route in
the pieces the client sent, so the tail arrives after the fields were read.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from tests.robustness import support
from tests.web.world import TEAM, World
from vault.app import create_app
from vault.context import Context
from vault.domain import AuditTag, Category
from vault.models import AuditEntry, Case, Document, Subject
from vault.runtime import Vault
from vault.services.case_view import view_case
from vault.services.documents import read_document
from vault.services.pow import solve
from vault.web.public import fields as public_fields
from vault.web.public.fields import SUBJECT_NAME_UNUSABLE
from vault.web.public.routes import SERVICE_PROBLEM

BOUNDARY = b"BND"
CANARY = "KanarieIntegriteit"
CITIZEN_REPORT = {
    "website": "",
    "naam": f"{CANARY} Melder",
    "contact": "06-12345678",
    "relatie": "buren",
    "betrokkene_rol": "kind",
    "betrokkene_naam": f"{CANARY} Kind",
    "zorgen": f"{CANARY} zorgen over het kind van de buren.",
}
PROFESSIONAL_REPORT = {
    "website": "",
    "naam": f"{CANARY} Leerkracht",
    "beroep": "leerkracht",
    "organisatie": "basisschool",
    "contact": "06-87654321",
    "meldcode_stap": "3",
    "betrokkene_rol": "kind",
    "betrokkene_naam": f"{CANARY} Leerling",
    "zorgen": f"{CANARY} blauwe plekken.",
}
# The browser's empty file input: a file part with filename="" and no bytes.
EMPTY_FILE_PART = (
    b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="bijlage"; filename=""\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n\r\n"
)
MALFORMED_TAILS = {
    "a field after the file part": (
        b'--BND\r\nContent-Disposition: form-data; name="x"\r\n\r\nlaat\r\n--BND--\r\n'
    ),
    "a second file part": (
        b'--BND\r\nContent-Disposition: form-data; name="y"; filename="b.txt"\r\n\r\nxx\r\n--BND--\r\n'
    ),
}
WELL_FORMED_END = b"--BND--\r\n"


def _fields_part(fields: dict[str, str]) -> bytes:
    out = b""
    for name, value in fields.items():
        out += b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="' + name.encode()
        out += b'"\r\n\r\n' + value.encode() + b"\r\n"
    return out


def _file_part(filename: str, data: bytes) -> bytes:
    return (
        b"--"
        + BOUNDARY
        + b'\r\nContent-Disposition: form-data; name="bijlage"; filename="'
        + filename.encode()
        + b'"\r\nContent-Type: text/plain\r\n\r\n'
        + data
        + b"\r\n"
    )


def _solved(base_url: str) -> dict[str, str]:
    issued = httpx.get(f"{base_url}/formulier/uitdaging", timeout=10).json()
    return {"uitdaging": issued["challenge"], "teller": solve(issued["challenge"], issued["bits"])}


def _counts(vault: Vault) -> tuple[int, int, int, int]:
    """Cases, documents, subjects and intake audit entries: all that a submission can leave behind."""
    with vault.db.session() as session:

        def count(model: type[object], *where: object) -> int:
            stmt = select(func.count()).select_from(model)
            return int(session.scalar(stmt.where(*where) if where else stmt) or 0)  # type: ignore[arg-type]

        received = AuditEntry.tag == str(AuditTag.INTAKE_SUBMISSION_RECEIVED)
        return count(Case), count(Document), count(Subject), count(AuditEntry, received)


def _post_in_two_writes(base_url: str, path: str, head: bytes, tail: bytes) -> tuple[int, str, str]:
    """POST a multipart body in two TCP writes half a second apart; (status, content type, body)."""
    host, port = base_url.removeprefix("http://").split(":")
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY.decode()}\r\n"
        f"Content-Length: {len(head) + len(tail)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request + head)
        time.sleep(0.5)
        sock.sendall(tail)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    header_block, _, body = answer.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    if "chunked" in {k.lower(): v for k, v in headers.items()}.get("transfer-encoding", ""):
        body = _unchunk(body)
    return int(lines[0].split()[1]), content_type, body.decode("utf-8", "replace")


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


@pytest.fixture
def live(vault: Vault, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real ``vault serve`` on the test database, with the intake team and an easy proof of work."""
    plain = support.vault_env
    monkeypatch.setattr(
        support,
        "vault_env",
        lambda v, **extra: plain(v, VAULT_INTAKE_TEAM=TEAM, VAULT_INTAKE_POW_BITS="4", **extra),
    )
    with support.running_server(vault, tmp_path, name="intake") as server:
        yield server.base_url


@pytest.mark.parametrize("path", ["/melden/burger", "/advies/burger"])
def test_malformed_tail_after_the_empty_file_input_stores_nothing_and_answers_json(
    live: str, vault: Vault, path: str
) -> None:
    """Bad input gets a clear error and loses nothing; nothing half-written stays visible: the whole
    body is read and checked before the case is committed, and the refusal is the script's JSON."""
    form = CITIZEN_REPORT if path == "/melden/burger" else {"website": "", "zorgen": f"{CANARY} advies"}
    for label, tail in MALFORMED_TAILS.items():
        before = _counts(vault)
        head = _fields_part({**_solved(live), **form}) + EMPTY_FILE_PART
        status, content_type, body = _post_in_two_writes(live, path, head, tail)
        assert status == 400, (label, body)
        assert content_type.startswith("application/json"), (label, content_type)
        answer = httpx.Response(status, content=body.encode()).json()
        assert answer["ok"] is False
        assert answer["reason"] == "invalid"
        assert "0800-2000" in answer["message"]
        assert CANARY not in body
        assert _counts(vault) == before, label
    # The same body with a well-formed end is received: the refusal above was the tail, nothing else.
    before = _counts(vault)
    head = _fields_part({**_solved(live), **form}) + EMPTY_FILE_PART
    status, content_type, body = _post_in_two_writes(live, path, head, WELL_FORMED_END)
    assert status == 201, body
    assert httpx.Response(status, content=body.encode()).json()["reference"].startswith("VT-")
    assert _counts(vault)[0] == before[0] + 1


def test_a_stored_report_is_answered_with_its_reference_whatever_the_tail_after_its_attachment(
    live: str, vault: Vault
) -> None:
    """The attachment is sealed under the new case's key as it streams, so the case is committed
    before the tail is read: from then on the answer is the reference (the attachment reported
    missing), never a refusal of a report that was in fact stored."""
    for label, tail in MALFORMED_TAILS.items():
        before = _counts(vault)
        head = _fields_part({**_solved(live), **CITIZEN_REPORT}) + _file_part("foto.txt", b"bijlage" * 100)
        status, content_type, body = _post_in_two_writes(live, "/melden/burger", head, tail)
        assert status == 201, (label, body)
        assert content_type.startswith("application/json"), label
        answer = httpx.Response(status, content=body.encode()).json()
        assert answer["ok"] is True
        assert answer["reference"].startswith("VT-")
        assert answer["attachment"] is False
        assert "bijlage niet" in answer["message"]
        assert CANARY not in body
        cases, documents, _, received = _counts(vault)
        assert (cases, received) == (before[0] + 1, before[3] + 1), label
        assert documents == before[1] + 1, label  # the answers, not the attachment


# --- The name of the person of concern ---------------------------------------------------------------


@pytest.fixture
def client(vault: Vault, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as c:
        yield c


def _post(client: TestClient, path: str, fields: dict[str, str]) -> httpx.Response:
    issued = client.get("/formulier/uitdaging").json()
    solved = {"uitdaging": issued["challenge"], "teller": solve(issued["challenge"], issued["bits"])}
    files = {"bijlage": ("", b"", "application/octet-stream")}
    answer: httpx.Response = client.post(path, data={**fields, **solved}, files=files)
    return answer


# A bidi control alone ("\u202e") is refused for its characters before its usability is judged
# ("… bevat tekens die niet zijn toegestaan"): tests/intake/test_d19_person_field_characters.py.
PLACEHOLDER_NAMES = ["?", "-", "...", "🙂"]


@pytest.mark.parametrize("path", ["/melden/burger", "/melden/professional"])
@pytest.mark.parametrize("name", PLACEHOLDER_NAMES)
def test_d19_a_placeholder_subject_name_is_a_dutch_problem_for_that_field(
    client: TestClient, vault: Vault, path: str, name: str
) -> None:
    """A name without letters or digits cannot be matched (D19 blind index): the answer names the field
    in Dutch and says it may stay empty, the JSON the script shows, no echo, nothing stored."""
    form = CITIZEN_REPORT if path == "/melden/burger" else PROFESSIONAL_REPORT
    before = _counts(vault)
    r = _post(client, path, {**form, "betrokkene_naam": name})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["reason"] == "invalid"
    assert body["problems"] == [SUBJECT_NAME_UNUSABLE]
    assert "leeg" in body["problems"][0]
    assert "Laad de pagina opnieuw" not in body["message"]  # reloading would empty the form
    assert "blijft staan" in body["message"]
    assert CANARY not in r.text
    assert _counts(vault) == before


def test_d19_an_unknown_subject_name_may_be_left_empty_and_the_role_is_kept(
    client: TestClient, vault: Vault, world: World
) -> None:
    """A citizen who does not know the child's name leaves it empty: the report is received, no
    placeholder subject pollutes the person index, and who the concern is about stays in the answers."""
    before = _counts(vault)
    form = {**CITIZEN_REPORT, "betrokkene_naam": ""}
    r = _post(client, "/melden/burger", form)
    assert r.status_code == 201, r.text
    reference = r.json()["reference"]
    cases, _, subjects, _ = _counts(vault)
    assert (cases, subjects) == (before[0] + 1, before[2])
    with vault.db.session() as session:
        prefix = reference.removeprefix("VT-").replace("-", "").lower()
        case_id = next(c for c in session.scalars(select(Case.id)) if c.replace("-", "").startswith(prefix))
        (document_id,) = session.scalars(
            select(Document.id).where(Document.case_id == case_id, Document.category == str(Category.REPORT))
        )
    worker = Context(
        actor_id=world.worker.user_id,
        role=str(world.worker.role),
        access_point="test",
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )
    assert view_case(vault, worker, case_id).subjects == []
    narrative = b"".join(read_document(vault, worker, document_id).chunks).decode()
    assert "Over wie maakt u zich zorgen?\nEen kind" in narrative


def test_a_value_the_service_refuses_is_a_dutch_problem_not_a_bare_400(
    client: TestClient, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: should the fields layer ever let through a value the intake service refuses
    (here: its name check switched off), the answer is still the script's JSON with a Dutch problem."""
    monkeypatch.setattr(public_fields, "_usable_name", lambda value: True)
    before = _counts(vault)
    r = _post(client, "/melden/burger", {**CITIZEN_REPORT, "betrokkene_naam": "?"})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["problems"] == [SERVICE_PROBLEM]
    assert CANARY not in r.text
    assert _counts(vault) == before


def test_a_failure_before_the_case_is_committed_is_answered_in_json_and_stores_nothing(
    client: TestClient, vault: Vault
) -> None:
    """Whatever fails before the case is committed (here the database loses a table), the person sees
    the Dutch "call us" message the script shows, not the generic HTML error page."""
    before = _counts(vault)
    fields = {**CITIZEN_REPORT}
    issued = client.get("/formulier/uitdaging").json()
    fields |= {"uitdaging": issued["challenge"], "teller": solve(issued["challenge"], issued["bits"])}
    with vault.db.session() as session:
        session.execute(text("DROP TABLE auth_attempts"))
    failing = TestClient(client.app, raise_server_exceptions=False)
    r = failing.post("/melden/burger", data=fields, files={"bijlage": ("", b"", "application/octet-stream")})
    # SQLite reports the lost table as unavailable (503), PostgreSQL as a programming error (500)
    assert r.status_code in (500, 503)
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["reason"] == "unavailable"
    assert "0800-2000" in r.json()["message"]
    assert CANARY not in r.text
    assert _counts(vault) == before


@pytest.mark.parametrize(
    "filename",
    ["\u0635\u0648\u0631\u0629\u200f.jpg", "scan\u0085.pdf", "a\u202egpj.exe"],
    ids=["right-to-left-mark", "c1-control", "bidi-override"],
)
def test_an_attachment_whose_name_holds_a_control_character_is_kept_under_a_cleaned_name(
    client: TestClient, vault: Vault, filename: str
) -> None:
    """A right-to-left mark in an Arabic file name, or a control character from an old system, used to
    pass the form and be refused by the document store after the upload: the evidence was dropped.
    The characters are now dropped from the name instead, and the attachment is kept."""
    before = _counts(vault)
    issued = client.get("/formulier/uitdaging").json()
    solved = {"uitdaging": issued["challenge"], "teller": solve(issued["challenge"], issued["bits"])}
    r = client.post(
        "/melden/burger",
        data={**CITIZEN_REPORT, **solved},
        files={"bijlage": (filename, b"\xff\xd8" + b"x" * 5000, "image/jpeg")},
    )
    assert r.status_code == 201, r.text
    assert r.json()["attachment"] is True, r.json()
    cases, documents, _, _ = _counts(vault)
    assert (cases, documents) == (before[0] + 1, before[1] + 2)  # the answers and the attachment
