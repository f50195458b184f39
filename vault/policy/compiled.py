"""Compile the reviewed Casbin matcher once to Python bytecode.

pycasbin re-parses the matcher on every ``enforce`` call and walks the tree with ``simpleeval``
(ARCHITECTURE "Policy": 0.4-0.7 ms per check). The matcher is reviewed code in
``policies/model.conf``, so it is translated exactly as pycasbin translates it (``&&``, ``||``,
``!``), checked against a small grammar, wrapped in a ``lambda`` over the request and policy tokens
and compiled once. The resulting function runs with no builtins and only the registered functions.

What keeps this safe:
- a matcher containing ``eval(`` is refused (pycasbin would splice policy-row text into it);
- only the node types below are accepted; names must be request/policy tokens or registered
  functions; attribute names may not start with ``_``; calls go to registered functions only;
- policy row values and request values are passed as *arguments* - never parsed or evaluated.
"""

from __future__ import annotations

import ast
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from vault.errors import ConfigError

__all__ = ["PARSE_LOCK", "CompiledMatcher", "compile_matcher", "translate_matcher"]

# CPython gh-106905: parsing in several threads at once can raise SystemError. Every parse the
# policy package does (pycasbin model/policy load, our ast.parse and compile) holds this lock.
PARSE_LOCK = threading.Lock()

_EVAL_CALL = re.compile(r"\beval\s*\(")

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.In,
    ast.NotIn,
    ast.Name,
    ast.Attribute,
    ast.Call,
    ast.Constant,
    ast.Tuple,
    ast.Load,
)

MatcherFunction = Callable[..., Any]


def translate_matcher(matcher: str) -> str:
    """Turn Casbin matcher syntax into Python exactly as pycasbin 2.8.0 does
    (``CoreEnforcer._get_expression``), so both paths evaluate the same expression."""
    expr = matcher.replace("&&", "and").replace("||", "or")
    return re.sub(r"!(?!=)", "not ", expr).strip()


class CompiledMatcher:
    """A matcher compiled to a function ``fn(*request_values, *policy_values) -> bool``."""

    __slots__ = ("_fn", "policy_tokens", "request_tokens", "source")

    def __init__(
        self,
        fn: Callable[..., object],
        request_tokens: tuple[str, ...],
        policy_tokens: tuple[str, ...],
        source: str,
    ) -> None:
        self._fn = fn
        self.request_tokens = request_tokens
        self.policy_tokens = policy_tokens
        self.source = source

    def __call__(self, *values: object) -> bool:
        result = self._fn(*values)
        # pycasbin raises on a non-boolean matcher result; so do we (and decide() turns it into a deny).
        if not isinstance(result, bool):
            raise TypeError("matcher result is not a boolean")
        return result

    @property
    def raw(self) -> Callable[..., object]:
        """The compiled function without the result check (the engine checks the result itself)."""
        return self._fn


def _validate(tree: ast.Expression, names: frozenset[str], functions: frozenset[str]) -> None:
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ConfigError(f"policy matcher: {type(node).__name__} is not allowed")
        if isinstance(node, ast.Name) and node.id not in names and node.id not in functions:
            raise ConfigError(f"policy matcher: unknown name {node.id!r}")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ConfigError("policy matcher: private attribute access is not allowed")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in functions:
                raise ConfigError("policy matcher: only registered functions may be called")
            if node.keywords:
                raise ConfigError("policy matcher: keyword arguments are not allowed")
        if isinstance(node, ast.Constant) and not isinstance(node.value, str | int | bool | type(None)):
            raise ConfigError("policy matcher: unsupported constant")


def _leading_conjuncts(body: ast.expr, count: int) -> list[str]:
    if not isinstance(body, ast.BoolOp) or not isinstance(body.op, ast.And):
        return []
    return [ast.dump(value) for value in body.values[:count]]


def compile_matcher(
    matcher: str,
    request_tokens: Sequence[str],
    policy_tokens: Sequence[str],
    functions: Mapping[str, MatcherFunction],
    *,
    required_guards: Sequence[str] = (),
) -> CompiledMatcher:
    """Compile ``matcher`` (pycasbin's escaped form, e.g. ``r_sub.role == p_role``).

    ``required_guards`` are conjuncts (in pycasbin's escaped form) the matcher must start with, in
    order; the engine's per-(role, action) index relies on them. Raises ``ConfigError`` otherwise.
    Call with ``PARSE_LOCK`` held.
    """
    if _EVAL_CALL.search(matcher):
        raise ConfigError("policy matcher: eval( is not allowed")
    r_tokens = tuple(request_tokens)
    p_tokens = tuple(policy_tokens)
    for token in (*r_tokens, *p_tokens):
        if not token.isidentifier() or token.startswith("_") or token in functions:
            raise ConfigError(f"policy model: bad token {token!r}")
    source = translate_matcher(matcher)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ConfigError("policy matcher: syntax error") from exc
    _validate(tree, frozenset((*r_tokens, *p_tokens)), frozenset(functions))

    if required_guards:
        expected = [ast.dump(ast.parse(translate_matcher(g), mode="eval").body) for g in required_guards]
        if _leading_conjuncts(tree.body, len(expected)) != expected:
            raise ConfigError("policy matcher: must start with the role and action guards")

    arguments = ast.arguments(
        posonlyargs=[],
        args=[ast.arg(arg=name) for name in (*r_tokens, *p_tokens)],
        vararg=None,
        kwonlyargs=[],
        kw_defaults=[],
        kwarg=None,
        defaults=[],
    )
    wrapper = ast.Expression(body=ast.Lambda(args=arguments, body=tree.body))
    ast.fix_missing_locations(wrapper)
    code = compile(wrapper, "<policies/model.conf matcher>", "eval")
    namespace: dict[str, Any] = {"__builtins__": {}}
    namespace.update(functions)
    # Evaluating the reviewed, grammar-checked matcher once yields the lambda; no request or policy
    # text ever reaches eval - those are passed to the lambda as plain argument values.
    fn = eval(code, namespace)  # noqa: S307
    if not callable(fn):
        raise ConfigError("policy matcher: did not compile to a function")
    return CompiledMatcher(fn, r_tokens, p_tokens, source)
