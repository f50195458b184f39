"""Test helper (D13, D22): review every free-text item of a request's copy, so it can be answered."""

from __future__ import annotations

from vault.context import Context
from vault.runtime import Vault
from vault.services.inzage import ReviewDecision
from vault.services.inzage_review import list_free_text, review_free_text


def withhold_all(vault: Vault, ctx: Context, request_id: str) -> None:
    """Withhold every free-text item of the copy (withholding needs no step-up)."""
    items = {i.item: ReviewDecision.WITHHELD for i in list_free_text(vault, ctx, request_id)}
    if items:
        review_free_text(vault, ctx, request_id, items)
