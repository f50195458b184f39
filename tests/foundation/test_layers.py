"""The layout of ``vault/`` (docs/architecture.md "Layers"), read from the imports so that it stays true.

Every module belongs to one layer; a module may import its own layer and the ones below, never one
above. Entry points (api, web, cli) sit on ``vault.http`` and the services and never import each other.
No two modules import each other, directly or around a circle (function-level imports included;
imports under ``if TYPE_CHECKING:`` are for the type checker only and do not count).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "vault"

# Lowest first. The longest matching prefix decides a module's layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "vault",
        "vault.errors",
        "vault.files",
        "vault.domain",
        "vault.logging",
        "vault.config",
        "vault.labels",
        "vault.periodic",
    ),
    ("vault.crypto", "vault.models", "vault.db", "vault.context", "vault.migrate"),
    (
        "vault.policy",
        "vault.storage",
        "vault.repositories",
        "vault.audit.chain",
        "vault.audit.merkle",
        "vault.audit.note",
        "vault.audit.cosignature",
        "vault.audit.log",
        "vault.audit.queries",
    ),
    ("vault.transaction", "vault.runtime"),
    ("vault.audit", "vault.auth", "vault.logcontrole", "vault.services", "vault.witness"),
    ("vault.http",),
    ("vault.api", "vault.web", "vault.cli", "vault.app"),
)
SIBLINGS = ("vault.api", "vault.web", "vault.cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _layer(module: str) -> int:
    best, layer = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, layer = len(prefix), index
    return layer


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str) -> set[str]:
    """The vault modules ``module`` imports (``from pkg import sub`` counts as importing ``pkg.sub``)."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("vault"):
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("vault"))
    found.discard(module)
    return {m for m in found if m in MODULES}


GRAPH = {m: _imports(m) for m in MODULES}


def test_every_module_has_a_layer() -> None:
    assert [m for m in MODULES if _layer(m) < 0] == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_higher_layer(module: str) -> None:
    upward = sorted(m for m in GRAPH[module] if _layer(m) > _layer(module))
    assert upward == [], f"{module} (layer {_layer(module)}) imports a higher layer"


def test_entry_points_do_not_import_each_other() -> None:
    crossings = []
    for module, imported in GRAPH.items():
        own = next((s for s in SIBLINGS if module == s or module.startswith(s + ".")), None)
        if own is None:
            continue
        for target in imported:
            other = next((s for s in SIBLINGS if target == s or target.startswith(s + ".")), None)
            if other is not None and other != own:
                crossings.append(f"{module} -> {target}")
    assert crossings == []


def test_no_import_circle() -> None:
    # Tarjan's strongly connected components over the module graph.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert circles == []


def test_the_gate_exports_only_its_doors_and_their_vocabulary() -> None:
    from vault.services import gate

    doors = {
        "pass_gate",
        "admit",
        "admit_read",
        "open_admitted",
        "gated_write",
        "refuse",
        "refuse_unless_staff",
        "would_allow",
        "decide",
        "refusal",
        "decrypt_case_field",
        "partner_texts",
    }
    vocabulary = {"GateRequest", "Admission", "AdmittedRead", "OpenedDocument", "RuleRefused"}
    assert set(gate.__all__) == doors | vocabulary


def test_no_file_in_vault_is_over_500_lines() -> None:
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > 500}
    assert long == {}
