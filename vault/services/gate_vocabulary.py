"""The gate's vocabulary: what a caller hands the gate (``GateRequest``), what an allowed request
gets back (``Admission``, ``AdmittedRead``, ``OpenedDocument``) and how a domain rule refuses a gated
write (``RuleRefused``). Data only: the doors that decide, audit and open are in ``gate``, which
re-exports these names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session

from vault.crypto.envelope import DataKey
from vault.domain import Action, Category
from vault.errors import VaultError
from vault.models import Grant
from vault.policy import Actor, CaseFacts, Decision, GrantFacts

__all__ = [
    "Admission",
    "AdmittedRead",
    "FieldOpener",
    "GateRequest",
    "OpenedDocument",
    "RuleRefused",
    "TextScreen",
]


class FieldOpener(Protocol):
    """The gate's opening of one sealed field of a case whose key it holds (callers never see the key)."""

    def __call__(self, *, table: str, column: str, row_id: str, value: bytes) -> str: ...


@dataclass(frozen=True)
class GateRequest:
    case_id: str
    action: Action
    category: Category | None = None
    document_id: str | None = None
    break_glass_justification: str | None = None
    purpose: str | None = None
    grant_id: str | None = None
    reporter_identity_release: bool = False


@dataclass(frozen=True)
class Admission:
    """An allowed request, with what the decision rested on."""

    decision: Decision
    actor: Actor
    case: CaseFacts
    grant: GrantFacts | None
    dek: DataKey | None = field(default=None, repr=False)
    seq: int | None = None  # the allow entry's sequence number (none when the allow is not audited)


@dataclass(frozen=True)
class OpenedDocument:
    document_id: str
    version: int
    version_id: str
    category: Category
    filename: str
    content_type: str
    length: int
    chunks: Iterator[bytes] = field(repr=False)


@dataclass(frozen=True)
class AdmittedRead:
    """What an allowed, audited read may open once its transaction has committed. ``filename`` is
    the uploader's for staff (its extension only from the allow-list and agreeing with the bytes, else
    ``.bin``) and a neutral one for a partner; ``content_type`` follows the bytes, never the uploader's
    label (D22, ``vault.services.file_names``)."""

    document_id: str
    case_id: str
    category: Category
    version: int
    version_id: str
    blob_id: str
    filename: str
    content_type: str
    length: int
    dek: DataKey = field(repr=False)
    # The blob, opened before the admission committed (S1: a store outage rolls the admission back);
    # ciphertext only. None: missing, ``open_admitted`` tells a destruction from damage.
    ciphertext: Iterator[bytes] | None = field(default=None, repr=False, compare=False)
    # What a read that fails after this commit names in its follow-up entry (``read_failures``): the
    # admitting entry's sequence number and the grant whose retrieval it counted.
    seq: int | None = None
    grant_id: str | None = None


class RuleRefused(Exception):
    """A domain rule refused the write; ``rule`` goes into the audit entry."""

    def __init__(self, error: VaultError, rule: str) -> None:
        super().__init__(error.message)
        error.rule = rule  # the caller that gets ``error`` can tell the rule (vault.errors)
        self.error = error
        self.rule = rule


# D8: given a grant's case, the grant and the gate's opener, whether a text may not be shown to the partner
TextScreen = Callable[[Session, Grant, FieldOpener], Callable[[str], bool]]
