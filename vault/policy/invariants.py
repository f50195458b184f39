"""The domain's fixed rules, checked against every policy before it is used (D17, D3, D9/D10, "Users").

``policies/policy.csv`` is reviewed like code, but one broad line — an allow above the D17 deny, an
administrator or privacy officer reading content, a partner without a grant — would otherwise load,
pass ``vault policy check`` and decide in the running server. ``check_invariants`` probes a freshly
built engine (its own compiled matcher, first match wins) with every request an allow line can
answer, and refuses the policy (``ConfigError`` naming the line and rule id) when one is allowed that
the domain forbids whatever the policy says:

- D17: nothing without a verified second factor; the D17 deny exists and no allow line precedes it;
- "Users": an administrator or privacy officer never reads, writes, discloses or exports case content;
- D9/D10: a partner reaches case content only through a grant; D3: a professional only as owner;
- no allow line with role ``*`` and action ``*``;
- D20: break-the-glass (``break_glass`` without ``team``, ``assigned``, ``owner`` or ``grant``) is a
  read only, never of the reporter's identity (D8), and of medical documents only for a
  vertrouwensarts ("Users": the only role that reads medical documents).

The probes: for each allow line, every (role, action, object) its patterns cover, with exactly the
relations it requires (the fewest that let it match: every earlier line that still matches would match
a request with more) and once more with ``no_second_factor`` added; and for every (role, action,
object) the fixed relation sets of ``_FIXED_PROBES``. A few thousand matcher calls; no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, Protocol

from vault.domain import Action, Category, Role
from vault.errors import ConfigError

__all__ = ["D17_LINE", "check_invariants", "line_numbers"]

# The D17 line every policy must have before any allow: no second factor, nothing.
D17_LINE: Final = ("*", "*", "any", "no_second_factor", "deny")
_NO_SECOND_FACTOR: Final = "no_second_factor"
_SYSTEM: Final = "system"
_SHAPES: Final = (_SYSTEM, "case", *(c.value for c in Category))
_CONTENT_ACTIONS: Final = frozenset(
    {Action.READ.value, Action.WRITE.value, Action.DISCLOSE.value, Action.EXPORT.value}
)
_NO_CONTENT_ROLES: Final = frozenset({Role.ADMIN.value, Role.PRIVACY_OFFICER.value})
# The relation that must hold whenever this role reaches case content at all, and what it means.
_CONTENT_ONLY_THROUGH: Final = {
    Role.PARTNER.value: ("grant", "without a valid grant (D9, D10)"),
    Role.PROFESSIONAL.value: ("owner", "outside their own advice case (D3)"),
}
# Relation sets probed for every (role, action, object), whatever the lines: none, no second factor,
# and everything but a grant / ownership (a policy whose matcher ignores or negates relations).
_EVERY_RELATION: Final = frozenset(
    {"always", "team", "assigned", "break_glass", "release", "purpose", "reporter_released", "destroyed"}
)
_FIXED_PROBES: Final = (
    frozenset({"always"}),
    frozenset({"always", _NO_SECOND_FACTOR}),
    # D20: a justification and whatever a request may add to it, but no tie to the case.
    frozenset({"always", "break_glass", "purpose", "release", "reporter_released"}),
    _EVERY_RELATION,
    _EVERY_RELATION | {_NO_SECOND_FACTOR, "grant", "owner"},
)

# What ties an actor to a case; break-the-glass without any of these is an emergency access (D20).
_CASE_TIES: Final = frozenset({"team", "assigned", "owner", "grant"})
_BREAK_GLASS: Final = "break_glass"

FirstLine = Callable[[str, str, str, frozenset[str]], "int | None"]
Covers = Callable[[int, str, str, str], bool]


class _Line(Protocol):
    @property
    def role(self) -> str: ...
    @property
    def act(self) -> str: ...
    @property
    def cat(self) -> str: ...
    @property
    def rel(self) -> str: ...
    @property
    def eft(self) -> str: ...
    @property
    def rule(self) -> str: ...


def line_numbers(policy_path: Path, count: int) -> tuple[int, ...] | None:
    """The file line of each policy row (casbin skips blank and ``#`` lines), or None if unsure."""
    try:
        text = policy_path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    numbers = tuple(
        number for number, raw in enumerate(text.splitlines(), start=1) if raw.strip().startswith("p,")
    )
    return numbers if len(numbers) == count else None


def where(index: int, rule: str, numbers: Sequence[int] | None) -> str:
    """``policy.csv line 12 (p:rule)``, or by rule id and row when the line is not known."""
    if numbers is not None:
        return f"policy.csv line {numbers[index]} ({rule})"
    return f"policy.csv policy row {index + 1} ({rule})"


def _violation(role: str, act: str, shape: str, relations: frozenset[str]) -> str | None:
    """What the domain forbids about allowing this request, or None."""
    if _NO_SECOND_FACTOR in relations:
        return f"{role} to {act} {shape} without a second factor (D17)"
    if shape == _SYSTEM:
        return None
    if role in _NO_CONTENT_ROLES and act in _CONTENT_ACTIONS:
        return f"{role} to {act} case content ({shape}); administrators and privacy officers never do (Users)"
    needed, unless = _CONTENT_ONLY_THROUGH.get(role, ("always", ""))
    if needed not in relations:
        return f"{role} to {act} case content ({shape}) {unless}"
    if _BREAK_GLASS in relations and not relations & _CASE_TIES:
        return _break_glass_violation(role, act, shape)
    return None


def _break_glass_violation(role: str, act: str, shape: str) -> str | None:
    """D20: an emergency access reads, and reads neither the reporter's identity nor (but for a
    vertrouwensarts) medical documents."""
    if act not in (Action.READ.value, Action.AUDIT.value):  # the privacy officer's audit is no access
        return f"{role} to {act} {shape} under break-the-glass, which is read-only (D20)"
    if shape == Category.REPORTER_IDENTITY.value:
        return f"{role} to read the reporter's identity under break-the-glass (D8, D20)"
    if shape == Category.MEDICAL.value and role != Role.VERTROUWENSARTS.value:
        return f"{role} to read medical documents under break-the-glass; only a vertrouwensarts does (D20)"
    return None


def _refuse(lines: Sequence[_Line], index: int, numbers: Sequence[int] | None, text: str) -> ConfigError:
    return ConfigError(f"{where(index, lines[index].rule, numbers)}: {text}; the policy is refused")


def check_invariants(
    lines: Sequence[_Line], numbers: Sequence[int] | None, first_line: FirstLine, covers: Covers
) -> None:
    """Raise ``ConfigError`` naming the first line that breaks a fixed rule (module docstring).

    ``first_line(role, action, object, relations)``: the index of the line the engine decides by;
    ``covers(index, role, action, object)``: whether that line's patterns include the request."""
    d17 = next(
        (
            i
            for i, line in enumerate(lines)
            if (line.role, line.act, line.cat, line.rel, line.eft) == D17_LINE
        ),
        None,
    )
    if d17 is None:
        raise ConfigError(
            "policy.csv: the D17 line 'p, *, *, any, no_second_factor, deny, …' is missing; "
            "the policy is refused"
        )
    for i, line in enumerate(lines):
        if line.eft != "allow":
            continue
        if i < d17:
            raise _refuse(lines, i, numbers, "an allow line placed before the D17 second-factor deny")
        if line.role == "*" and line.act == "*":
            raise _refuse(lines, i, numbers, "an allow line for any role and any action")
    roles = [r.value for r in Role]
    actions = [a.value for a in Action]
    for i, line in enumerate(lines):
        if line.eft != "allow":
            continue
        required = frozenset(line.rel.split("+")) | {"always"}
        for role in roles:
            for act in actions:
                for shape in _SHAPES:
                    if not covers(i, role, act, shape):
                        continue
                    for relations in (required, required | {_NO_SECOND_FACTOR}):
                        _probe(lines, numbers, first_line, (role, act, shape, relations))
    for role in roles:
        for act in actions:
            for shape in _SHAPES:
                for relations in _FIXED_PROBES:
                    _probe(lines, numbers, first_line, (role, act, shape, relations))


def _probe(
    lines: Sequence[_Line],
    numbers: Sequence[int] | None,
    first_line: FirstLine,
    request: tuple[str, str, str, frozenset[str]],
) -> None:
    index = first_line(*request)
    if index is None or lines[index].eft != "allow":
        return
    problem = _violation(*request)
    if problem is not None:
        raise _refuse(lines, index, numbers, f"would allow {problem}")
