"""The privacy officer's proof bundles: one audit entry, a case's access report (D15, for auditors), or
the data subject's overview of it (D8, D13, D15: what they may see, nothing more), with proof.

Order, so that nothing leaves unaudited and a refusal is recorded: (1) authorise (a refusal is audited
and raised); (2) sign a checkpoint over the log as it is now and ask the witnesses to cosign it — the
bundle then covers every entry it names, also the most recent ones; (3) build and check the proofs;
(4) audit the issue (``audit:proof:issued``) and commit; only then is the bundle handed out.
The bundle carries the cosignatures the witnesses gave; without the quorum it is still issued, and
``published`` in the audit entry says so (the verifier then fails on the quorum, which is the point).

A witness cosigns only forward. When the server's periodic checkpointer signs and publishes a larger
checkpoint between (2)'s signing and asking, the witnesses hold that larger size and cannot cosign the
bundle's: the vault then signs again over the log as it is (a checkpoint that covers every entry of the
bundle as well) and asks again, a few times, before it settles for a bundle without the quorum.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import structlog
from sqlalchemy.orm import Session

from vault.audit import queries as audit_repo
from vault.audit.bundle import MAX_BUNDLE_ENTRIES, build_bundle
from vault.audit.checkpoints import CheckpointInfo, create_checkpoint
from vault.audit.log import record
from vault.context import Context
from vault.domain import AuditTag
from vault.errors import NotFound, VaultError
from vault.runtime import Vault
from vault.services.access_overview import row_details, subject_report
from vault.services.audit_reports import authorise_audit, require_known_case
from vault.services.inzage_recipients import reporter_grants
from vault.transaction import transaction
from vault.witness.client import cosigned_note, publish_checkpoint

__all__ = [
    "BundlePart",
    "access_report_bundle",
    "bundle_parts",
    "entry_bundle",
    "part_list",
    "subject_overview_bundle",
]

log = structlog.get_logger(__name__)

# Each retry follows a checkpoint the witnesses cosigned meanwhile; more than a few in a row means
# something else is wrong, and the bundle goes out with what it has (``published`` says so).
_PUBLISH_ATTEMPTS: Final = 3


def _published_checkpoint(vault: Vault) -> tuple[CheckpointInfo, bool]:
    """A checkpoint over the log as it is now, and whether the witnesses' quorum cosigned it."""
    for _ in range(_PUBLISH_ATTEMPTS):
        info = create_checkpoint(vault)
        try:
            publication = publish_checkpoint(vault, info)
        except VaultError as exc:
            log.error("audit_cosign_failed", error=type(exc).__name__)
            return info, False
        if publication.published or not publication.witnesses_ahead:
            return info, publication.published
        log.info("audit_bundle_checkpoint_overtaken", size=info.size)
    return info, False


def _issue(
    vault: Vault, ctx: Context, seqs: list[int], subject: dict[str, Any], *, case_id: str | None, kind: str
) -> dict[str, Any]:
    """Sign, build, check and audit a bundle of ``seqs``; ``kind`` is what the audit entry says was
    issued (``entry``, ``access-report`` or ``subject-overview``)."""
    info, published = _published_checkpoint(vault)
    bundle = build_bundle(vault, info, cosigned_note(vault, info), seqs, subject)
    with transaction(vault.db) as session:
        decision = authorise_audit(session, vault, ctx, AuditTag.AUDIT_PROOF_ISSUED)
        record(
            session,
            ctx,
            AuditTag.AUDIT_PROOF_ISSUED,
            case_id=case_id,
            object_type="audit_entry" if kind == "entry" else "case",
            object_id=case_id if case_id is not None else str(subject.get("seq")),
            purpose="audit-review",
            rule=decision.rule,
            details={
                "bundle": kind,
                "tree_size": info.size,
                "entries": len(seqs),
                "published": published,
            },
        )
    return bundle


def entry_bundle(vault: Vault, ctx: Context, seq: int) -> dict[str, Any]:
    """The bundle of one audit entry (any entry the privacy officer can search or export)."""
    with transaction(vault.db) as session:
        authorise_audit(session, vault, ctx, AuditTag.AUDIT_PROOF_ISSUED)
        entry = audit_repo.entry_by_seq(session, seq)
    if entry is None:
        raise NotFound("no audit entry with this sequence number")
    return _issue(vault, ctx, [seq], {"kind": "entry", "seq": seq}, case_id=entry["case_id"], kind="entry")


def access_report_bundle(vault: Vault, ctx: Context, case_id: str, *, after_seq: int = 0) -> dict[str, Any]:
    """D15: the entries of a case's access report (one page of at most 500, the entries after
    ``after_seq``; ``bundle_parts`` says where each page begins), each with its proof —
    every entry, with every field: for the privacy officer and an auditor only, never for the data
    subject (it holds what D8 and D13 withhold from them; ``subject_overview_bundle`` is theirs).

    A bundle proves that each entry it holds is in the log; it cannot prove that no entry about the
    case was left out (that takes the whole export; see docs/audit.md).
    """
    with transaction(vault.db) as session:
        authorise_audit(session, vault, ctx, AuditTag.AUDIT_PROOF_ISSUED)
        require_known_case(session, case_id)
        rows = audit_repo.access_report_rows(session, case_id, after_seq=after_seq, limit=MAX_BUNDLE_ENTRIES)
    seqs = [row["seq"] for row in rows]
    return _issue(vault, ctx, seqs, _case_subject(case_id), case_id=case_id, kind="access-report")


def subject_overview_bundle(
    vault: Vault, ctx: Context, case_id: str, *, subject_id: str | None = None, after_seq: int = 0
) -> dict[str, Any]:
    """D8, D13, D15: the bundle to hand to the data subject — exactly the entries their overview (the
    PDF "wie heeft uw dossier ingezien", ``access_overview.subject_report``) shows, one page of at
    most 500 (those after ``after_seq``; ``bundle_parts`` says where each begins), each with its
    proof. The reporter's entries (also those of a disclosure that names the reporter: its details
    say so), refused attempts and other subjects' requests (a destruction
    request among them) are not in it: each entry is proved on its own, so leaving some out costs no
    proof, and an entry is handed out whole (details included) or not at all.
    ``subject_id`` None: for no one in particular (every subject's requests left out, as the PDF)."""
    with transaction(vault.db) as session:
        authorise_audit(session, vault, ctx, AuditTag.AUDIT_PROOF_ISSUED)
        require_known_case(session, case_id)
        rows = _handed_out(session, case_id, subject_report(session, case_id, subject_id=subject_id).rows)
    seqs = [row["seq"] for row in rows if row["seq"] > after_seq][:MAX_BUNDLE_ENTRIES]
    return _issue(vault, ctx, seqs, _case_subject(case_id), case_id=case_id, kind="subject-overview")


def _handed_out(session: Session, case_id: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """D8: the overview's rows whose whole entry may go to the data subject. The copy shows a grant
    that carried the reporter's identity beside other data by its lines (time, action, who), but its
    entries' details say that it carried the identity, and a bundle hands an entry out whole: those
    entries stay out of the subject's bundle."""
    carried = reporter_grants(session, case_id)

    def names_reporter(row: dict[str, Any]) -> bool:
        details = row_details(row)
        grant = row.get("object_id") if row.get("object_type") == "grant" else details.get("grant_id")
        return details.get("reporter_identity") is True or grant in carried

    return [row for row in rows if not names_reporter(row)]


@dataclass(frozen=True)
class BundlePart:
    """One download of a case's bundle: ``after_seq`` is what to ask for it (the last entry of the part
    before; 0 for the first), ``entries`` how many it holds, from ``first_at`` to ``last_at``."""

    number: int
    after_seq: int
    entries: int
    first_at: datetime
    last_at: datetime


def bundle_parts(
    session: Session, vault: Vault, ctx: Context, case_id: str, *, full: bool
) -> list[BundlePart]:
    """D15: the parts of ``access_report_bundle`` (``full``) or ``subject_overview_bundle`` of a case,
    oldest first; more than one when the entries do not fit in one bundle, none for a case without any.
    The parts are cut exactly where those functions cut a bundle after ``after_seq``, so asking for
    every part gives every entry once. No bundle is built (that signs a checkpoint and proves against
    the whole log). ``full``: from the case's sequence numbers only (``case_entry_seqs``) and the times
    of each part's first and last entry. The subject's parts need what the overview leaves out, which
    depends on each entry's details (D8: a disclosure that names the reporter, a read under it), so
    they are counted from ``subject_report``'s rows, as ``subject_overview_bundle`` selects them."""
    authorise_audit(session, vault, ctx, AuditTag.AUDIT_PROOF_ISSUED)
    if full:
        pages = list(_chunks(audit_repo.case_entry_seqs(session, case_id)))
        times = audit_repo.entry_times(session, [seq for page in pages for seq in (page[0], page[-1])])
    else:
        rows = _handed_out(session, case_id, subject_report(session, case_id).rows)
        pages = list(_chunks([row["seq"] for row in rows]))
        times = {row["seq"]: row["occurred_at"] for row in rows}
    parts: list[BundlePart] = []
    after = 0
    for seqs in pages:
        parts.append(BundlePart(len(parts) + 1, after, len(seqs), times[seqs[0]], times[seqs[-1]]))
        after = seqs[-1]
    return parts


def part_list(parts: list[BundlePart]) -> list[dict[str, Any]]:
    """The parts as the API gives them: where each begins (``after_seq`` to ask for it) and how many
    entries it holds, with the times of its first and last entry."""
    return [
        {
            "number": part.number,
            "after_seq": part.after_seq,
            "entries": part.entries,
            "first_at": part.first_at,
            "last_at": part.last_at,
        }
        for part in parts
    ]


def _chunks(seqs: list[int]) -> Iterator[list[int]]:
    """The entries a bundle at a time, as ``access_report_bundle`` pages and ``subject_overview_bundle``
    takes them (at most ``MAX_BUNDLE_ENTRIES``, each after the last of the one before)."""
    for start in range(0, len(seqs), MAX_BUNDLE_ENTRIES):
        yield seqs[start : start + MAX_BUNDLE_ENTRIES]


def _case_subject(case_id: str) -> dict[str, Any]:
    # Both bundles of a case name it alike: the offline verifier (tools/verify_bundle.py) checks that
    # every entry is of this case, whichever of its entries the bundle holds.
    return {"kind": "access-report", "case_id": case_id}
