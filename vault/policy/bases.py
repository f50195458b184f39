"""D9: the fixed, reviewable list of legal bases for a disclosure, and the recipient fit check.

A disclosure names a basis code from ``policies/statutory_bases.csv``. A statutory code allows only
the organisation types it lists; ``consent`` allows any recipient type but needs a reference to the
recorded consent. This module knows no database: that the reference is the id of an unwithdrawn
``share_with_partner`` consent of the case naming this very recipient is checked next, by
``vault.services.subjects.check_sharing_consent`` (called from the disclosures service). Anything
else - unknown code, recipient type that does not fit, missing consent reference - is a deny that
the caller audits. The list must be checked against the current text of
the law before release (see the file's header).
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from vault.domain import OrgType
from vault.errors import ConfigError
from vault.policy.facts import Decision

__all__ = [
    "DEFAULT_BASES_PATH",
    "LegalBases",
    "StatutoryBasis",
    "check_legal_basis",
    "default_legal_bases",
]

DEFAULT_BASES_PATH: Final = Path(__file__).resolve().parents[2] / "policies" / "statutory_bases.csv"
_HEADER: Final = ["code", "org_types", "consent_reference", "source"]


@dataclass(frozen=True, slots=True)
class StatutoryBasis:
    code: str
    org_types: frozenset[OrgType]
    requires_consent_reference: bool
    source: str


class LegalBases:
    """The loaded list; immutable."""

    def __init__(self, bases: Mapping[str, StatutoryBasis]) -> None:
        self._bases = dict(bases)

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self._bases)

    def get(self, code: str) -> StatutoryBasis | None:
        return self._bases.get(code)

    @classmethod
    def load(cls, path: Path | str = DEFAULT_BASES_PATH) -> LegalBases:
        text = Path(path).read_text(encoding="utf-8")
        # csv has no comments; the header block of the file is for reviewers, so drop it first.
        rows = list(
            csv.reader(io.StringIO("\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))))
        )
        rows = [row for row in rows if row]
        if not rows or [cell.strip() for cell in rows[0]] != _HEADER:
            raise ConfigError("statutory_bases.csv: missing or wrong header")
        bases: dict[str, StatutoryBasis] = {}
        for row in rows[1:]:
            if len(row) != len(_HEADER):
                raise ConfigError("statutory_bases.csv: wrong number of fields")
            code, types_text, consent_text, source = (cell.strip() for cell in row)
            if not code or code in bases:
                raise ConfigError(f"statutory_bases.csv: empty or duplicate code {code!r}")
            if consent_text not in ("required", "none"):
                raise ConfigError(f"statutory_bases.csv: consent_reference must be required/none ({code})")
            requires_consent = consent_text == "required"
            if types_text == "*":
                # Only a consent basis may name any recipient; a statutory ground names its recipients.
                if not requires_consent:
                    raise ConfigError(f"statutory_bases.csv: '*' recipients need a consent basis ({code})")
                org_types = frozenset(OrgType)
            else:
                try:
                    org_types = frozenset(OrgType(t) for t in types_text.split())
                except ValueError as exc:
                    raise ConfigError(f"statutory_bases.csv: unknown organisation type ({code})") from exc
                if not org_types:
                    raise ConfigError(f"statutory_bases.csv: no organisation types ({code})")
            if OrgType.VEILIG_THUIS in org_types and types_text != "*":
                raise ConfigError(f"statutory_bases.csv: Veilig Thuis is not a recipient ({code})")
            bases[code] = StatutoryBasis(code, org_types, requires_consent, source)
        if not bases:
            raise ConfigError("statutory_bases.csv: no bases")
        return cls(bases)

    def check(self, basis_code: str, recipient_type: OrgType, consent_reference: str | None) -> Decision:
        """Does ``basis_code`` allow disclosing to an organisation of ``recipient_type``? Fails closed."""
        try:
            basis = self._bases.get(basis_code)
            if basis is None:
                return Decision(False, "d9-unknown-basis", "the legal basis is not on the reviewed list")
            recipient = OrgType(recipient_type)
            if recipient is OrgType.VEILIG_THUIS:
                return Decision(
                    False, "d9-recipient-not-allowed", "Veilig Thuis is not a disclosure recipient"
                )
            if recipient not in basis.org_types:
                return Decision(
                    False, "d9-recipient-not-allowed", "the recipient type does not fit the basis"
                )
            if basis.requires_consent_reference and not (consent_reference and consent_reference.strip()):
                return Decision(
                    False, "d9-consent-reference-required", "consent basis without consent reference"
                )
            return Decision(True, f"d9-basis:{basis.code}", "the recipient type fits the legal basis")
        except Exception:  # noqa: BLE001 - fail closed
            return Decision(False, "error-deny", "the legal basis check failed; denied")


_default: LegalBases | None = None
_default_lock = threading.Lock()


def default_legal_bases() -> LegalBases:
    """The list from ``policies/statutory_bases.csv``, loaded once."""
    global _default
    with _default_lock:
        if _default is None:
            _default = LegalBases.load(DEFAULT_BASES_PATH)
        return _default


def check_legal_basis(
    basis_code: str,
    recipient_type: OrgType,
    consent_reference: str | None,
    *,
    bases: LegalBases | None = None,
) -> Decision:
    """D9 fit check against the reviewed list (the default file unless ``bases`` is given)."""
    try:
        table = bases if bases is not None else default_legal_bases()
    except Exception:  # noqa: BLE001 - an unreadable list allows nothing
        return Decision(False, "error-deny", "the legal basis list could not be loaded; denied")
    return table.check(basis_code, recipient_type, consent_reference)
