"""Retention (D11), destruction on request (D12), statements (D14), access-request deadlines (D13)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.audit.oracle import verify_chain
from tests.helpers import api_user, ctx_for, make_team, make_user, new_case, pdf_text, team_id_of, upload
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Category, Role, reference_of
from vault.errors import Conflict, Destroyed, Forbidden, InvalidInput, NotFound, VaultError
from vault.models import AuditEntry, Case, CaseKey, DestructionRequest, Document, DocumentVersion
from vault.runtime import Vault
from vault.services import destruction, lookup, rights, sweep
from vault.services.documents import read_document
from vault.services.gate import admit_read, open_admitted
from vault.services.keyring import shred_case
from vault.services.pdf import certificate_pdf
from vault.services.retention import ExtensionReason, extend_retention
from vault.services.subjects import PersonFields, Relation, add_subject
from vault.transaction import transaction


def _fresh(vault: Vault, ctx: Context) -> Context:
    """The same actor, stepped up at the clock's current time."""
    return ctx_for(vault, ctx.actor_id or "", Role(ctx.role))


def _doc_rows(vault: Vault, case_id: str) -> int:
    """Document versions of the case (document rows themselves stay as id-only tombstones)."""
    with vault.db.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(DocumentVersion)
                .join(Document)
                .where(Document.case_id == case_id)
            )
            or 0
        )


def test_d11_sweep_at_20_years_destroys_exactly_the_expired_cases(
    vault: Vault, clock: FrozenClock, team: str, worker: Context, leader: Context
) -> None:
    expired = new_case(vault, worker, team)
    touched = new_case(vault, worker, team)
    extended = new_case(vault, worker, team)
    docs = {c: upload(vault, worker, c, f"inhoud {c}".encode()) for c in (expired, touched, extended)}
    with vault.db.session() as session:
        expired_blob = session.scalars(
            select(DocumentVersion.blob_id).join(Document).where(Document.case_id == expired)
        ).one()
    clock.advance(days=365 * 10)
    upload(vault, _fresh(vault, worker), touched, b"nieuw stuk")  # moves its retention deadline
    extend_retention(
        vault,
        _fresh(vault, leader),
        extended,
        until=datetime(2056, 1, 1, tzinfo=UTC),
        reason=ExtensionReason.LEGAL_PROCEEDINGS,
    )
    clock.set(datetime(2046, 3, 3, tzinfo=UTC))  # 20 years and a day after the cases were opened
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    assert [i.case_id for i in sweep.sweep_expired(vault, operator, dry_run=True)] == [expired]
    assert _doc_rows(vault, expired) == 1  # a dry run changes nothing
    assert [i.case_id for i in sweep.sweep_expired(vault, operator)] == [expired]

    with pytest.raises(Destroyed):
        read_document(vault, _fresh(vault, worker), docs[expired])
    with vault.db.session() as session:
        assert session.get(CaseKey, expired) is None
        assert session.get(Case, expired).destroyed_at is not None  # type: ignore[union-attr]
        assert verify_chain(session).ok
    assert _doc_rows(vault, expired) == 0
    assert not vault.blobs.exists(expired_blob)
    for kept in (touched, extended):
        assert (
            b"".join(read_document(vault, _fresh(vault, worker), docs[kept]).chunks)
            == f"inhoud {kept}".encode()
        )
    cert = destruction.certificate_for(vault, operator, expired)
    assert destruction.verify_certificate(vault, cert)
    with vault.db.session() as session:  # the operator's read is audited like any other
        read = session.scalars(
            select(AuditEntry).where(AuditEntry.tag == str(AuditTag.RIGHTS_CERTIFICATE_READ))
        ).all()
    assert [(e.actor_id, e.actor_role, e.object_id) for e in read] == [("os:tester", "operator", cert.id)]
    body = json.loads(cert.body)
    assert (body["case_id"], body["reason"], body["keys_erased"]) == (expired, "retention_expired", 1)
    assert list(sweep.sweep_expired(vault, operator)) == []  # idempotent


def test_d11_interrupted_destruction_is_finished_by_the_next_sweep(
    vault: Vault, clock: FrozenClock, team: str, worker: Context
) -> None:
    case_id = new_case(vault, worker, team)
    upload(vault, worker, case_id, b"half vernietigd")
    clock.set(datetime(2047, 1, 1, tzinfo=UTC))
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    with vault.db.session() as session:  # the key was erased, then the process died
        shred_case(session, operator, case_id)
    assert _doc_rows(vault, case_id) == 1
    assert [i.case_id for i in sweep.sweep_expired(vault, operator)] == [case_id]
    assert _doc_rows(vault, case_id) == 0
    assert destruction.verify_certificate(vault, destruction.certificate_for(vault, operator, case_id))


def test_tampered_certificate_does_not_verify(vault: Vault, team: str, worker: Context) -> None:
    case_id = new_case(vault, worker, team)
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    cert = destruction.destroy_case(vault, operator, case_id, reason="retention_expired")
    forged = destruction.CertificateView(
        cert.id, cert.case_id, cert.body.replace("retention", "xetention"), cert.signature
    )
    assert destruction.verify_certificate(vault, cert)
    assert not destruction.verify_certificate(vault, forged)
    pdf = certificate_pdf(cert)
    assert pdf.startswith(b"%PDF")
    # D12: the PDF a person keeps names the case by its reference, in Dutch words and time, no ids.
    text = pdf_text(pdf)
    for dutch in (reference_of(case_id), "Bewaartermijn verstreken", "Nederlandse tijd", "crypto-shredding"):
        assert dutch in text, dutch
    for raw in (case_id, cert.id, "retention_expired", "operator", "os:tester", "when KEK epoch"):
        assert raw not in text, raw


def test_d12_refusal_needs_a_reason_and_a_grant_yields_a_certificate(
    vault: Vault, clock: FrozenClock, team: str, worker: Context, leader: Context
) -> None:
    case_id = new_case(vault, worker, team)
    doc = upload(vault, worker, case_id, b"verzoek tot vernietiging")
    first = destruction.record_destruction_request(vault, worker, case_id, received_on=date(2026, 3, 1))
    with vault.db.session() as session:
        assert session.get(DestructionRequest, first).decide_by == date(2026, 6, 1)  # type: ignore[union-attr]
    with pytest.raises(InvalidInput):
        destruction.decide_destruction_request(vault, leader, first, grant=False)
    with pytest.raises(InvalidInput):
        destruction.decide_destruction_request(
            vault, leader, first, grant=False, refusal_reason=destruction.RefusalReason.STATUTORY_OBLIGATION
        )
    with pytest.raises(Forbidden):  # a case worker does not decide; the team leader does
        destruction.decide_destruction_request(
            vault,
            worker,
            first,
            grant=False,
            refusal_reason=destruction.RefusalReason.STATUTORY_OBLIGATION,
            refusal_note="Kanarie-toelichting: lopende procedure bij de rechtbank",
        )
    refused = destruction.decide_destruction_request(
        vault,
        leader,
        first,
        grant=False,
        refusal_reason=destruction.RefusalReason.STATUTORY_OBLIGATION,
        refusal_note="Kanarie-toelichting: lopende procedure bij de rechtbank",
    )
    assert (refused.status, refused.certificate) == ("refused", None)
    with pytest.raises(Conflict):
        destruction.decide_destruction_request(vault, leader, first, grant=True)
    with vault.db.session() as session:
        row = session.get(DestructionRequest, first)
        assert row is not None
        assert row.refusal_code == "statutory_obligation"
        assert b"Kanarie" not in (row.refusal_note_enc or b"")
    second = destruction.record_destruction_request(vault, worker, case_id, received_on=date(2026, 3, 2))
    granted = destruction.decide_destruction_request(vault, leader, second, grant=True)
    assert granted.certificate is not None
    assert json.loads(granted.certificate.body)["request_id"] == second
    with pytest.raises(Destroyed):
        read_document(vault, worker, doc)
    with vault.db.session() as session:
        assert verify_chain(session).ok


def test_d12_pending_requests_list_their_deadline(
    vault: Vault, clock: FrozenClock, team: str, worker: Context
) -> None:
    case_id = new_case(vault, worker, team)
    destruction.record_destruction_request(vault, worker, case_id, received_on=date(2025, 11, 30))
    with pytest.raises(InvalidInput):
        destruction.record_destruction_request(vault, worker, case_id, received_on=date(2027, 1, 1))
    pending = destruction.pending_destruction_requests(vault, worker)
    assert [(p.decide_by, p.overdue) for p in pending] == [(date(2026, 2, 28), True)]


def test_d14_statement_is_appended_and_the_original_is_unchanged(
    vault: Vault, team: str, worker: Context
) -> None:
    case_id = new_case(vault, worker, team)
    original = upload(vault, worker, case_id, b"verslag van het huisbezoek")
    with vault.db.session() as session:
        version = session.scalars(
            select(DocumentVersion).where(DocumentVersion.document_id == original)
        ).one()
        before = (
            version.ciphertext_sha256,
            hashlib.sha256(b"".join(vault.blobs.iter_chunks(version.blob_id))).hexdigest(),
        )
    stored = rights.add_statement(
        vault,
        worker,
        case_id=case_id,
        refers_to_document_id=original,
        title="Zienswijze moeder",
        filename="zienswijze.txt",
        content_type="text/plain",
        chunks=[b"Ik ben het hier niet mee eens."],
    )
    with vault.db.session() as session:
        statement = session.get(Document, stored.document_id)
        assert statement is not None
        assert (statement.category, statement.refers_to_id) == (Category.STATEMENT, original)
        version = session.scalars(
            select(DocumentVersion).where(DocumentVersion.document_id == original)
        ).one()
        after = (
            version.ciphertext_sha256,
            hashlib.sha256(b"".join(vault.blobs.iter_chunks(version.blob_id))).hexdigest(),
        )
    assert after == before
    assert b"".join(read_document(vault, worker, original).chunks) == b"verslag van het huisbezoek"
    assert (
        b"".join(read_document(vault, worker, stored.document_id).chunks) == b"Ik ben het hier niet mee eens."
    )
    with pytest.raises(InvalidInput):
        rights.add_statement(
            vault,
            worker,
            case_id=case_id,
            refers_to_document_id=stored.document_id,
            title="t",
            filename="f",
            content_type="text/plain",
            chunks=[b"x"],
        )


def test_d13_access_request_deadline_and_one_extension(
    vault: Vault, clock: FrozenClock, team: str, worker: Context
) -> None:
    case_id = new_case(vault, worker, team)
    subject = add_subject(vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Ouder"))
    req = rights.record_access_request(
        vault, worker, case_id, subject_id=subject, received_on=date(2026, 2, 2)
    )
    assert (req.answer_by, req.overdue) == (date(2026, 3, 2), False)
    # Extended on the last day of the term, the person told within it (AVG art. 12(3)).
    while worker.now().date() < req.answer_by:
        clock.advance(days=1)
    extended = rights.extend_access_request(
        vault, worker, req.id, reason=rights.ExtensionReason.COMPLEX_REQUEST, weeks=8
    )
    assert extended.answer_by == date(2026, 4, 27)
    with pytest.raises(Conflict):
        rights.extend_access_request(
            vault, worker, req.id, reason=rights.ExtensionReason.MANY_REQUESTS, weeks=1
        )
    with pytest.raises(InvalidInput):
        rights.extend_access_request(
            vault, worker, req.id, reason=rights.ExtensionReason.MANY_REQUESTS, weeks=9
        )
    withdrawn = rights.AccessClosing.WITHDRAWN  # D13: no copy was made for it
    assert rights.complete_access_request(vault, worker, req.id, closing=withdrawn).completed is True
    assert rights.due_access_requests(vault, worker) == []


def test_d13_an_overdue_access_request_cannot_be_extended_after_the_fact(
    vault: Vault, clock: FrozenClock, team: str, worker: Context
) -> None:
    """Extending a request whose term has passed would turn a late answer into a timely one and take
    it off the overdue list the privacy officer watches: refused, the request stays overdue."""
    case_id = new_case(vault, worker, team)
    subject = add_subject(vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Ouder"))
    req = rights.record_access_request(
        vault,
        worker,
        case_id,
        subject_id=subject,
        received_on=worker.now().date() - timedelta(weeks=4, days=1),
    )
    assert req.overdue
    with pytest.raises(Conflict) as refused:
        rights.extend_access_request(
            vault, worker, req.id, reason=rights.ExtensionReason.COMPLEX_REQUEST, weeks=8
        )
    assert refused.value.rule == rights.EXTENSION_AFTER_TERM
    (listed,) = rights.due_access_requests(vault, worker)
    assert (listed.id, listed.overdue, listed.answer_by) == (req.id, True, req.answer_by)


def test_retention_extension_needs_the_team_leader_and_a_later_date(
    vault: Vault, team: str, worker: Context, leader: Context
) -> None:
    case_id = new_case(vault, worker, team)
    # (who, new date, refusal, its rule): the page words each refusal by its rule.
    for who, year, error, rule in (
        (worker, 2060, Forbidden, None),
        (leader, 2030, InvalidInput, None),  # not later than the current date
        (leader, 2100, InvalidInput, "retention-too-long"),  # one extension adds at most 20 years
    ):
        with pytest.raises(error) as refused:
            extend_retention(
                vault,
                who,
                case_id,
                until=datetime(year, 1, 1, tzinfo=UTC),
                # not a legal hold: a hold may end earlier (D12, test_d12_legal_hold_ends.py)
                reason=ExtensionReason.SUBJECT_INTEREST,
            )
        if rule is not None:
            assert refused.value.rule == rule


def test_d11_one_extension_adds_at_most_20_years_also_from_29_february(
    vault: Vault, team: str, worker: Context, leader: Context
) -> None:
    """From 29 February 2080 the furthest date is 28 February 2100 (no leap year), not a crash."""
    case_id = new_case(vault, worker, team)
    for year in (2060, 2080):
        extend_retention(
            vault,
            leader,
            case_id,
            until=datetime(year, 2, 29, 12, tzinfo=UTC),
            reason=ExtensionReason.LEGAL_PROCEEDINGS,
        )
    with pytest.raises(InvalidInput) as refused:
        extend_retention(
            vault,
            leader,
            case_id,
            until=datetime(2100, 2, 28, 12, 0, 1, tzinfo=UTC),
            reason=ExtensionReason.LEGAL_PROCEEDINGS,
        )
    assert refused.value.rule == "retention-too-long"
    furthest = datetime(2100, 2, 28, 12, tzinfo=UTC)
    assert (
        extend_retention(vault, leader, case_id, until=furthest, reason=ExtensionReason.LEGAL_PROCEEDINGS)
        == furthest
    )


def test_d11_api_extends_retention_from_29_february_to_28_february(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    leader = api_user(client, vault, clock, Role.TEAMLEIDER, team="Team D11")
    team = team_id_of(vault, "Team D11")
    case_id = new_case(
        vault, ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER), team
    )

    def extend(until: str) -> httpx.Response:
        return client.post(
            f"/api/v1/cases/{case_id}/retention",
            headers=leader.headers,
            json={"until": until, "reason": "legal_proceedings"},
        )

    for until in ("2060-02-29T12:00:00Z", "2080-02-29T12:00:00Z"):
        assert extend(until).status_code == 200
    assert extend("2100-03-01T00:00:00Z").status_code == 400  # more than 20 years: refused, not a 500
    r = extend("2100-02-28T12:00:00Z")
    assert r.status_code == 200, r.text
    assert r.json() == {"destroy_after": "2100-02-28T12:00:00+00:00"}


def test_register_of_processing_activities_lists_bases_and_retention() -> None:
    register = rights.processing_register()
    activity = register["activities"][0]
    assert {r["code"] for r in activity["recipients"]} >= {"consent", "wmo-4.1.1-2-help", "wmo-4.1.1-2-rvdk"}
    assert "20 years" in activity["retention"]
    json.dumps(register)  # machine-readable


def test_cli_sweep_destroys_a_long_expired_case(vault: Vault, clock: FrozenClock, team: str) -> None:
    clock.set(datetime(2001, 5, 1, tzinfo=UTC))  # opened in 2001: expired since 2021 in real time
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    case_id = new_case(vault, worker, team)
    leader_2001 = ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[team]), Role.TEAMLEIDER)
    lookup.reidentify_person(  # D11: about nobody in the vault; its explanation goes after a year
        vault,
        leader_2001,
        bsn="111222333",
        reason=lookup.ReidentificationReason.ACUTE_SAFETY,
        explanation="Niemand bekend onder dit nummer",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env.update(
        VAULT_HOME=str(vault.settings.home), VAULT_DATABASE_URL=vault.settings.url.render_as_string(False)
    )
    cmd = [sys.executable, "-m", "vault.cli.main", "retention"]
    dry = subprocess.run([*cmd, "sweep", "--dry-run"], env=env, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert f"would destroy case {case_id}" in dry.stdout
    swept = "1 re-identification explanation(s) without a matching case, over a year old,"
    assert f"{swept} due for erasure" in dry.stdout
    real = subprocess.run([*cmd, "sweep"], env=env, capture_output=True, text=True, timeout=60)
    assert real.returncode == 0, real.stderr
    assert f"{swept} erased" in real.stdout
    cert = subprocess.run([*cmd, "certificate", case_id], env=env, capture_output=True, text=True, timeout=60)
    assert cert.returncode == 0, cert.stderr
    assert json.loads(cert.stdout)["body"]["case_id"] == case_id
    # --output: a new file, or one line naming why not; an existing file is never overwritten.
    out = vault.settings.home / "certificaat.pdf"
    made = [*cmd, "certificate", case_id, "--format", "pdf", "--output", str(out)]
    assert subprocess.run(made, env=env, capture_output=True, timeout=60).returncode == 0
    assert out.read_bytes().startswith(b"%PDF")
    for target, reason in (
        (out, f"{out} exists, not overwritten"),
        (
            vault.settings.home / "nergens" / "c.json",
            f"the folder {vault.settings.home / 'nergens'} does not exist",
        ),
        (vault.settings.home, f"{vault.settings.home} exists, not overwritten"),
    ):
        refused = subprocess.run(
            [*cmd, "certificate", case_id, "--output", str(target)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 1, refused.stderr
        assert refused.stderr.splitlines() == [f"error: --output: {reason}"]
    assert out.read_bytes().startswith(b"%PDF")
    unknown = vault.settings.home / "onbekend.json"
    refused = subprocess.run(
        [*cmd, "certificate", "00000000-0000-4000-8000-000000000000", "--output", str(unknown)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert not unknown.exists(), "a refused certificate leaves no file behind"


def test_d12_a_granted_request_commits_with_its_destruction_or_not_at_all(
    vault: Vault, team: str, worker: Context, leader: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure while destroying (here: signing the certificate, the last step) leaves the request
    pending and the case whole; granting it again destroys the case."""
    case_id = new_case(vault, worker, team)
    doc = upload(vault, worker, case_id, b"nog leesbaar")
    request_id = destruction.record_destruction_request(vault, worker, case_id, received_on=date(2026, 3, 1))

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("interrupted")

    monkeypatch.setattr(destruction, "_signing_key", interrupted)
    with pytest.raises(RuntimeError):
        destruction.decide_destruction_request(vault, leader, request_id, grant=True)
    monkeypatch.undo()
    with vault.db.session() as session:
        row = session.get(DestructionRequest, request_id)
        assert row is not None
        assert (row.status, row.decided_at) == ("pending", None)
        assert session.get(Case, case_id).destroyed_at is None  # type: ignore[union-attr]
        assert session.get(CaseKey, case_id) is not None
        granted = session.scalars(
            select(AuditEntry).where(AuditEntry.tag == str(AuditTag.RIGHTS_DESTRUCTION_GRANTED))
        ).all()
        assert granted == []  # the gate's entry rolled back with the decision
    assert [p.request_id for p in destruction.pending_destruction_requests(vault, leader)] == [request_id]
    assert b"".join(read_document(vault, worker, doc).chunks) == b"nog leesbaar"

    outcome = destruction.decide_destruction_request(vault, leader, request_id, grant=True)
    assert outcome.certificate is not None
    assert destruction.verify_certificate(vault, outcome.certificate)
    assert json.loads(outcome.certificate.body)["request_id"] == request_id
    with vault.db.session() as session:
        assert session.get(DestructionRequest, request_id).status == "granted"  # type: ignore[union-attr]
        assert session.get(CaseKey, case_id) is None
        assert verify_chain(session).ok
    with pytest.raises(Destroyed):
        read_document(vault, worker, doc)
    assert destruction.pending_destruction_requests(vault, leader) == []


def test_d16_d21_probing_another_teams_case_through_its_requests_tells_nothing_and_is_audited(
    vault: Vault, team: str, worker: Context, leader: Context
) -> None:
    """Someone the gate does not allow gets the same audited denial whatever the facts behind it: a
    statement on a document or on a statement of the case (D14), a decision on a pending request or
    on one already decided (D12). Before, the facts were checked first, unaudited (400, 404, 409)."""
    other = make_team(vault)
    outsider = ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[other]), Role.TEAMLEIDER)
    case_id = new_case(vault, worker, team)
    doc = upload(vault, worker, case_id, b"verslag")
    statement = rights.add_statement(
        vault, worker, case_id=case_id, refers_to_document_id=doc, title="Zienswijze",
        filename="z.txt", content_type="text/plain", chunks=[b"mijn kant"],
    ).document_id  # fmt: skip
    today = worker.now().date()
    decided = destruction.record_destruction_request(vault, worker, case_id, received_on=today)
    destruction.decide_destruction_request(
        vault, leader, decided, grant=False,
        refusal_reason=destruction.RefusalReason.STATUTORY_OBLIGATION, refusal_note="wettelijke plicht",
    )  # fmt: skip
    pending = destruction.record_destruction_request(vault, worker, case_id, received_on=today)
    unknown = "00000000-0000-4000-8000-000000000000"
    attempts = {
        "statement on a document": lambda: rights.add_statement(
            vault, outsider, case_id=case_id, refers_to_document_id=doc, title="t", filename="f.txt",
            content_type="text/plain", chunks=[b"x"],
        ),
        "statement on a statement": lambda: rights.add_statement(
            vault, outsider, case_id=case_id, refers_to_document_id=statement, title="t", filename="f.txt",
            content_type="text/plain", chunks=[b"x"],
        ),
        "statement on no document": lambda: rights.add_statement(
            vault, outsider, case_id=case_id, refers_to_document_id=unknown, title="t", filename="f.txt",
            content_type="text/plain", chunks=[b"x"],
        ),
        "decision on a decided request": lambda: destruction.decide_destruction_request(
            vault, outsider, decided, grant=True
        ),
        "decision on a pending request": lambda: destruction.decide_destruction_request(
            vault, outsider, pending, grant=True
        ),
    }  # fmt: skip
    answers = {}
    for name, attempt in attempts.items():
        before = _denials(vault, outsider)
        with pytest.raises(VaultError) as refused:
            attempt()
        answers[name] = (type(refused.value).__name__, _denials(vault, outsider) - before)
    assert set(answers.values()) == {("Forbidden", 1)}, answers
    # The case's own staff still get the reasons.
    with pytest.raises(InvalidInput):
        rights.add_statement(
            vault, worker, case_id=case_id, refers_to_document_id=statement, title="t", filename="f.txt",
            content_type="text/plain", chunks=[b"x"],
        )  # fmt: skip
    with pytest.raises(NotFound):
        rights.add_statement(
            vault, worker, case_id=case_id, refers_to_document_id=unknown, title="t", filename="f.txt",
            content_type="text/plain", chunks=[b"x"],
        )  # fmt: skip
    with pytest.raises(Conflict):
        destruction.decide_destruction_request(vault, leader, decided, grant=True)


def _denials(vault: Vault, ctx: Context) -> int:
    with vault.db.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.actor_id == ctx.actor_id, AuditEntry.decision == "deny")
            )
            or 0
        )


def test_d12_a_request_granted_but_left_undestroyed_is_finished_by_granting_it_again(
    vault: Vault, clock: FrozenClock, team: str, worker: Context, leader: Context
) -> None:
    """A request granted by a version that committed the decision apart from the destruction, whose
    destruction then failed: granting it again destroys the case; after that it is decided."""
    case_id = new_case(vault, worker, team)
    request_id = destruction.record_destruction_request(vault, worker, case_id, received_on=date(2026, 3, 1))
    decided_at = clock.now()
    with vault.db.session() as session:
        row = session.get(DestructionRequest, request_id)
        assert row is not None
        row.status, row.decided_at, row.decided_by = "granted", decided_at, leader.actor_id
    with pytest.raises(Conflict):  # a granted request is never turned into a refusal
        destruction.decide_destruction_request(
            vault,
            leader,
            request_id,
            grant=False,
            refusal_reason=destruction.RefusalReason.STATUTORY_OBLIGATION,
            refusal_note="toelichting",
        )
    clock.advance(days=1)
    outcome = destruction.decide_destruction_request(vault, _fresh(vault, leader), request_id, grant=True)
    assert outcome.certificate is not None
    assert json.loads(outcome.certificate.body)["request_id"] == request_id
    with vault.db.session() as session:
        row = session.get(DestructionRequest, request_id)
        assert row is not None
        assert (row.status, row.decided_at) == ("granted", decided_at)  # the decision keeps its date
        assert session.get(Case, case_id).destroyed_at is not None  # type: ignore[union-attr]
    with pytest.raises(Destroyed):  # the gate answers first: the case is gone
        destruction.decide_destruction_request(vault, _fresh(vault, leader), request_id, grant=True)


def test_d11_a_read_admitted_just_before_the_destruction_finds_the_case_destroyed_not_damaged(
    vault: Vault, team: str, worker: Context
) -> None:
    """Its entry precedes the destruction's. The admission opened the blob before it committed (review
    S1), so that read gets what it opened; a read whose blob was gone by the time it opens gets 410, not
    an integrity alarm."""
    case_id = new_case(vault, worker, team)
    doc = upload(vault, worker, case_id, b"verslag")
    with transaction(vault.db) as session:
        admitted = admit_read(session, vault, worker, doc)
    with transaction(vault.db) as session:
        not_opened = replace(admit_read(session, vault, worker, doc), ciphertext=None)
    operator = Context(actor_id="os:test", role="operator", access_point="cli", clock=vault.clock)
    destruction.destroy_case(vault, operator, case_id, reason="retention_expired")
    assert b"".join(open_admitted(vault, admitted).chunks) == b"verslag"
    with pytest.raises(Destroyed):
        open_admitted(vault, not_opened)
