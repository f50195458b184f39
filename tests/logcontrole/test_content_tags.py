"""D21: the review counts as a read every door through which case content reaches a person.

``CONTENT_TAGS`` (``vault.logcontrole.scan``) must be exactly the tags the gate records when it admits
a READ or an EXPORT of a case. The test reads the gate's callers in ``vault/`` (as
``tests/gate/test_one_gate.py`` reads the decryptors): every call of ``pass_gate`` or ``admit``, the
``Action`` of its ``GateRequest`` and its ``tag``, following one wrapper (a function that passes its
own ``req`` or ``tag`` parameter on to the gate) to its callers. A new content-disclosing gate tag
that is not in ``CONTENT_TAGS`` fails it; so does a tag in ``CONTENT_TAGS`` that no gate read records.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vault.domain import Action, AuditTag
from vault.logcontrole import scan

ROOT = Path(__file__).resolve().parents[2] / "vault"
GATE = ROOT / "services" / "gate.py"
DOORS = frozenset({"pass_gate", "admit"})  # the doors that take a GateRequest and a tag
# gated_write is WRITE by construction; admit_read is gate.py's own admit(READ, document:read).
DISCLOSING = frozenset({Action.READ, Action.EXPORT})


@dataclass(frozen=True)
class Site:
    where: str
    actions: frozenset[Action]
    tags: frozenset[AuditTag]


def _members(node: ast.AST | None, enum: str) -> set[str]:
    if node is None:
        return set()
    return {
        sub.attr
        for sub in ast.walk(node)
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id == enum
    }


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


Function = ast.FunctionDef | ast.AsyncFunctionDef


def _trees() -> dict[Path, ast.Module]:
    return {p: ast.parse(p.read_text(), filename=str(p)) for p in sorted(ROOT.rglob("*.py"))}


def _gate_doors_of(path: Path, tree: ast.Module) -> set[str]:
    """The gate doors a module calls: imported from the gate (another ``admit`` is not the gate's)."""
    if path == GATE:
        return set(DOORS)
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "vault.services.gate"
        for alias in node.names
        if alias.name in DOORS
    }


def _calls_in(trees: dict[Path, ast.Module]) -> Iterator[tuple[Path, Function | None, ast.Call]]:
    for path, tree in trees.items():
        enclosing: dict[ast.AST, Function] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for sub in ast.walk(node):
                    if sub is not node:
                        enclosing[sub] = node  # ast.walk is breadth first: the innermost wins
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                yield path, enclosing.get(node), node


def gate_sites() -> list[Site]:
    trees = _trees()
    calls = list(_calls_in(trees))
    sites: list[Site] = []
    for path, func, call in calls:
        if _called(call) not in _gate_doors_of(path, trees[path]):
            continue
        if path == GATE and func is not None and func.name in DOORS | {"gated_write"}:
            continue  # the doors themselves: their callers are the sites
        tag_expr = next((k.value for k in call.keywords if k.arg == "tag"), None)
        actions = _members(call, "Action") or _members(func, "Action")
        tags = _members(tag_expr, "AuditTag")
        if func is not None and (not actions or not tags):
            # A wrapper: the request or the tag comes from its callers.
            callers = [(cf, c) for _, cf, c in calls if _called(c) == func.name and cf is not func]
            if not actions:
                actions = set().union(*(_members(c, "Action") or _members(cf, "Action") for cf, c in callers))
            if not tags:
                tags = set().union(*(_members(c, "AuditTag") for _, c in callers))
        where = f"{path.relative_to(ROOT)}:{call.lineno}"
        sites.append(Site(where, frozenset(Action[a] for a in actions), frozenset(AuditTag[t] for t in tags)))
    return sites


def test_d21_every_gate_call_site_is_understood() -> None:
    sites = gate_sites()
    assert len(sites) >= 20, "the reader found too few gate calls: has the gate's interface changed?"
    unresolved = [s.where for s in sites if not s.actions or not s.tags]
    assert not unresolved, f"gate calls whose action or tag the test cannot tell: {unresolved}"


def test_d21_content_tags_are_exactly_the_gates_admitted_reads_and_exports() -> None:
    disclosing = {str(t) for s in gate_sites() if s.actions & DISCLOSING for t in s.tags}
    assert str(AuditTag.RIGHTS_INZAGE_EXPORTED) in disclosing  # the reader works at all
    content_tags = scan.CONTENT_TAGS
    missing = sorted(disclosing - content_tags)
    assert not missing, f"gate reads/exports the log review does not count (add to CONTENT_TAGS): {missing}"
    extra = sorted(content_tags - disclosing)
    assert not extra, f"CONTENT_TAGS names tags no gate read or export records: {extra}"


def test_d21_inzage_copy_and_review_list_count_as_reads() -> None:
    assert str(AuditTag.RIGHTS_INZAGE_EXPORTED) in scan.CONTENT_TAGS
    assert str(AuditTag.RIGHTS_INZAGE_ITEMS_LISTED) in scan.CONTENT_TAGS
