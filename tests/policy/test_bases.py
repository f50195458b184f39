"""D9: the fixed list of legal bases and the recipient fit check."""

from __future__ import annotations

from pathlib import Path

import pytest

from vault.domain import OrgType
from vault.errors import ConfigError
from vault.policy import LegalBases, check_legal_basis
from vault.policy.bases import DEFAULT_BASES_PATH

ALLOWED = {
    "wmo-4.1.1-2-help": {OrgType.LOCAL_TEAM, OrgType.CARE_PROVIDER, OrgType.GP, OrgType.SCHOOL},
    "wmo-4.1.1-2-police": {
        OrgType.POLICE,
        OrgType.PUBLIC_PROSECUTOR,
        OrgType.PROBATION,
        OrgType.VICTIM_SUPPORT,
    },
    "wmo-4.1.1-2-rvdk": {OrgType.CHILD_PROTECTION_BOARD},
    "wmo-4.1.1-2-rvdk-municipality": {OrgType.MUNICIPALITY},
}


def test_d9_list_header_demands_a_check_against_the_law() -> None:
    assert (
        "CHECK THIS LIST AGAINST THE CURRENT TEXT OF THE LAW BEFORE RELEASE" in DEFAULT_BASES_PATH.read_text()
    )


def test_d9_the_list_holds_exactly_the_reviewed_codes() -> None:
    assert LegalBases.load().codes == {*ALLOWED, "consent"}


@pytest.mark.parametrize("code", sorted(ALLOWED))
@pytest.mark.parametrize("recipient", list(OrgType))
def test_d9_statutory_code_fits_only_its_recipient_types(code: str, recipient: OrgType) -> None:
    decision = check_legal_basis(code, recipient, None)
    assert decision.allowed is (recipient in ALLOWED[code])
    if not decision.allowed:
        assert decision.rule == "d9-recipient-not-allowed"


@pytest.mark.parametrize("recipient", [t for t in OrgType if t is not OrgType.VEILIG_THUIS])
def test_d9_consent_allows_any_recipient_with_a_reference(recipient: OrgType) -> None:
    assert check_legal_basis("consent", recipient, "consent-2025-0042").allowed
    assert check_legal_basis("consent", recipient, None).rule == "d9-consent-reference-required"
    assert not check_legal_basis("consent", recipient, "   ").allowed


def test_d9_relative_without_consent_is_denied() -> None:
    for code in ALLOWED:
        assert not check_legal_basis(code, OrgType.OTHER, None).allowed


@pytest.mark.parametrize("code", ["", "wmo", "CONSENT", "wmo-4.1.1-2-help ", "art-9"])
def test_d9_unknown_code_is_denied(code: str) -> None:
    assert check_legal_basis(code, OrgType.POLICE, "ref").rule == "d9-unknown-basis"


def test_d9_garbage_recipient_fails_closed() -> None:
    assert check_legal_basis("consent", "aunt", "ref").allowed is False  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "body",
    [
        "code,org_types,consent_reference,source\nx,police wizards,none,s\n",
        "code,org_types,consent_reference,source\nx,*,none,s\n",
        "code,org_types,consent_reference,source\nx,police,maybe,s\n",
        "code,org_types,consent_reference,source\nx,police,none,s\nx,gp,none,s\n",
        "code,org_types,consent_reference,source\nx,veilig_thuis,none,s\n",
        "code,types\nx,police\n",
        "# only comments\n",
    ],
)
def test_d9_malformed_list_is_refused(tmp_path: Path, body: str) -> None:
    path = tmp_path / "bases.csv"
    path.write_text(body)
    with pytest.raises(ConfigError):
        LegalBases.load(path)
