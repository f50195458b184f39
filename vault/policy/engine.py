"""The policy decision engine: facts in, ``Decision`` out. No database, no cache, no I/O per decision.

``PolicyEngine`` is built once from ``policies/model.conf`` + ``policies/policy.csv`` (parsed with
pycasbin) and is immutable afterwards. Production decisions use the matcher compiled once to
bytecode (``vault.policy.compiled``) over the policy lines indexed per (role, action); the stock
``casbin.Enforcer.enforce_ex`` path is kept (``decide_stock``) so tests and the benchmark can prove
both give the same answers.

Reloading never mutates an engine: ``PolicyHolder.reload`` builds a new one and swaps the
reference (ARCHITECTURE "Policy": ``load_policy`` under concurrent checks gave wrong answers).
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import casbin

from vault.domain import STAFF_ROLES, Action, CaseKind, Category, OrgType, Role
from vault.errors import ConfigError
from vault.policy.compiled import PARSE_LOCK, CompiledMatcher, compile_matcher
from vault.policy.facts import Actor, Decision, DecisionContext, Target
from vault.policy.invariants import check_invariants, line_numbers, where

__all__ = [
    "BREAK_GLASS_MIN_CHARS",
    "DEFAULT_MODEL_PATH",
    "DEFAULT_POLICY_PATH",
    "RELATIONS",
    "PolicyEngine",
    "PolicyHolder",
    "non_blank_chars",
    "own_motion_conversion_allowed",
    "relations_of",
    "target_shape",
]

_POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"
DEFAULT_MODEL_PATH: Final = _POLICY_DIR / "model.conf"
DEFAULT_POLICY_PATH: Final = _POLICY_DIR / "policy.csv"

# D20: a justification shorter than this (counting non-blank characters) is not a justification.
BREAK_GLASS_MIN_CHARS: Final = 20

RELATIONS: Final = frozenset(
    {
        "always",
        "no_second_factor",
        "destroyed",
        "team",
        "assigned",
        "owner",
        "grant",
        "reporter_released",
        "break_glass",
        "release",
        "purpose",
    }
)

_STAFF_PATTERN: Final = "staff"
_ROLE_PATTERNS: Final = frozenset({"*", _STAFF_PATTERN, *(r.value for r in Role)})
_ACT_PATTERNS: Final = frozenset({"*", *(a.value for a in Action)})
_SHAPE_SYSTEM: Final = "system"
_SHAPE_CASE: Final = "case"
_CAT_PATTERNS: Final = frozenset({"any", "content", _SHAPE_SYSTEM, _SHAPE_CASE, *(c.value for c in Category)})
_EFFECTS: Final = frozenset({"allow", "deny"})
_REQUIRED_EFFECT: Final = "priority(p_eft) || deny"
_REQUEST_TOKENS: Final = ("r_sub", "r_obj", "r_act", "r_env")
_POLICY_TOKENS: Final = ("p_role", "p_act", "p_cat", "p_rel", "p_eft", "p_rule")
# The per-(role, action) index is only correct while the matcher starts with these two conjuncts.
_INDEX_GUARDS: Final = ("roleMatch(r_sub.role, p_role)", "actMatch(r_act, p_act)")


# --- Functions the matcher may call. Registered identically with the stock enforcer. ------------


def role_match(role: str, pattern: str) -> bool:
    """``*`` is any role, ``staff`` the three Veilig Thuis staff roles, anything else is exact."""
    return pattern == "*" or pattern == role or (pattern == _STAFF_PATTERN and role in STAFF_ROLES)


def act_match(action: str, pattern: str) -> bool:
    return pattern == "*" or pattern == action


def cat_match(shape: str, pattern: str) -> bool:
    """``any`` includes system objects; ``content`` is everything inside a case."""
    if pattern == "any" or pattern == shape:
        return True
    return pattern == "content" and shape != _SHAPE_SYSTEM


def holds(relations: frozenset[str], required: str) -> bool:
    """Every ``+``-joined relation name in the policy value holds for this request (data lookup only)."""
    return all(name in relations for name in required.split("+"))


MATCHER_FUNCTIONS: Final[dict[str, Callable[..., bool]]] = {
    "roleMatch": role_match,
    "actMatch": act_match,
    "catMatch": cat_match,
    "holds": holds,
}


# --- Request values as attribute objects (what r.sub, r.obj, r.env are in the matcher). ----------


class _Subject:
    __slots__ = ("role",)

    def __init__(self, role: str) -> None:
        self.role = role


class _Object:
    __slots__ = ("cat",)

    def __init__(self, cat: str) -> None:
        self.cat = cat


class _Env:
    __slots__ = ("relations",)

    def __init__(self, relations: frozenset[str]) -> None:
        self.relations = relations


# --- Facts -> request ------------------------------------------------------------------------------


def target_shape(target: Target) -> str | None:
    """``system``, ``case`` or a category value; None for a target that makes no sense (refused)."""
    if target.case is None:
        if target.category is None and target.document_id is None:
            return _SHAPE_SYSTEM
        return None
    if target.category is None:
        # A document without its category could be medical or reporter identity: never guess.
        return _SHAPE_CASE if target.document_id is None else None
    return Category(target.category).value


# Not counted towards a written reason (D9, D20): white space; format and control characters (Cf, Cc:
# zero-width spaces and joiners, the BOM, bidi marks); marks (Mn, Me), which add to the character
# before them ("e" + an accent is one letter) or show as nothing (variation selectors, U+034F, the
# Mongolian free variation selectors); blank look-alikes (Hangul fillers, the blank braille pattern);
# and the other Default_Ignorable_Code_Point ranges (review B8).
_BLANK_LOOKALIKES = frozenset("\u115f\u1160\u2800\u3164\uffa0")
_UNCOUNTED_CATEGORIES = frozenset({"Cf", "Cc", "Mn", "Me"})
_IGNORABLE_RANGES: Final = ((0x2060, 0x206F), (0xFFF0, 0xFFF8), (0xE0000, 0xE0FFF))


def _counted(ch: str) -> bool:
    if ch.isspace() or ch in _BLANK_LOOKALIKES or unicodedata.category(ch) in _UNCOUNTED_CATEGORIES:
        return False
    return not any(low <= ord(ch) <= high for low, high in _IGNORABLE_RANGES)


def non_blank_chars(text: str | None) -> int:
    """The characters of ``text`` a reader sees; one count for the form, the gate and the log review."""
    return 0 if text is None else sum(1 for ch in text if _counted(ch))


def relations_of(actor: Actor, target: Target, ctx: DecisionContext) -> frozenset[str]:
    """The relations that hold for this request; policy lines require them by name."""
    rels = {"always"}
    if actor.second_factor_verified is not True:
        rels.add("no_second_factor")  # D17
    if ctx.reporter_identity_release is True:
        rels.add("release")  # D8: consent / release recorded for the reporter's identity
    if non_blank_chars(ctx.purpose) > 0:
        rels.add("purpose")  # D9: a disclosure or export states its purpose
    case = target.case
    if case is None:
        return frozenset(rels)
    if case.destroyed:
        rels.add("destroyed")
    if case.team_id and case.team_id in actor.team_ids:
        rels.add("team")
    if actor.id in case.assigned_user_ids:
        rels.add("assigned")
    if case.kind is CaseKind.ADVICE_PROFESSIONAL and case.owner_id and case.owner_id == actor.id:
        rels.add("owner")  # D3
    if non_blank_chars(ctx.break_glass_justification) >= BREAK_GLASS_MIN_CHARS:
        rels.add("break_glass")  # D20
    grant = ctx.grant
    if (
        grant is not None
        and actor.org_id is not None
        and grant.org_id == actor.org_id
        and grant.case_id == case.case_id
        and grant.revoked is False
        and grant.valid_from <= ctx.now < grant.valid_until
        and 0 <= grant.retrievals_used < grant.max_retrievals
        and (
            (target.category is not None and target.category in grant.categories)
            or (target.document_id is not None and target.document_id in grant.document_ids)
        )
    ):
        rels.add("grant")  # D9/D10: valid, in time, not used up, and naming this category/document
        if grant.reporter_identity_released is True:
            rels.add("reporter_released")  # D8
    return frozenset(rels)


def _request_problem(actor: Actor, target: Target, action: Action, ctx: DecisionContext) -> str | None:
    """A reason to refuse the request outright, or None. Cheap sanity checks that fail closed."""
    if not isinstance(actor, Actor) or not isinstance(target, Target) or not isinstance(ctx, DecisionContext):
        return "malformed request"
    if not isinstance(action, Action) or not isinstance(actor.role, Role):
        return "malformed request"
    if not actor.id:
        return "actor without id"
    # A str where a set belongs would turn membership into substring matching ("t1" in "t10").
    if not isinstance(actor.team_ids, frozenset):
        return "malformed request"
    if target.case is not None and not isinstance(target.case.assigned_user_ids, frozenset):
        return "malformed request"
    grant = ctx.grant
    if grant is not None and not (
        isinstance(grant.categories, frozenset) and isinstance(grant.document_ids, frozenset)
    ):
        return "malformed request"
    if ctx.now.tzinfo is None or ctx.now.utcoffset() != timedelta(0):
        return "time is not aware UTC"
    if actor.role is Role.PARTNER:
        if not actor.org_id or actor.org_type in (None, OrgType.VEILIG_THUIS):
            return "partner without a partner organisation"
    elif actor.role is not Role.PROFESSIONAL and actor.org_type not in (None, OrgType.VEILIG_THUIS):
        return "internal role outside Veilig Thuis"
    return None


# --- Policy lines ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyLine:
    role: str
    act: str
    cat: str
    rel: str
    eft: str
    rule: str

    @property
    def values(self) -> tuple[str, ...]:
        return (self.role, self.act, self.cat, self.rel, self.eft, self.rule)

    @property
    def decision(self) -> Decision:
        allowed = self.eft == "allow"
        verb = "allowed" if allowed else "denied"
        rels = self.rel.split("+")
        role = "any role" if self.role == "*" else self.role
        act = "any action" if self.act == "*" else self.act
        reason = f"{verb}: {role} {act} on {self.cat} when {' and '.join(rels)}"
        return Decision(allowed, self.rule, reason, break_glass=allowed and "break_glass" in rels)


def _parse_line(values: list[str], at: str = "policy.csv") -> PolicyLine:
    """One policy row; ``at`` names it in the error (``policy.csv line 12 (?)``)."""
    at = at.removesuffix(" (?)")
    if len(values) != len(_POLICY_TOKENS):
        raise ConfigError(f"{at}: wrong number of fields")
    line = PolicyLine(*values)
    if line.role not in _ROLE_PATTERNS:
        raise ConfigError(f"{at}: unknown role {line.role!r}")
    if line.act not in _ACT_PATTERNS:
        raise ConfigError(f"{at}: unknown action {line.act!r}")
    if line.cat not in _CAT_PATTERNS:
        raise ConfigError(f"{at}: unknown category {line.cat!r}")
    if not line.rel or any(name not in RELATIONS for name in line.rel.split("+")):
        raise ConfigError(f"{at}: unknown relation in {line.rel!r}")
    if line.eft not in _EFFECTS:
        raise ConfigError(f"{at}: unknown effect {line.eft!r}")
    if not line.rule.startswith("p:") or not line.rule[2:].replace("-", "").isalnum():
        raise ConfigError(f"{at}: bad rule id {line.rule!r}")
    return line


_DEFAULT_DENY: Final = Decision(False, "default-deny", "no policy line allows this")
_ERROR_DENY: Final = Decision(False, "error-deny", "the decision failed; denied")

_Bucket = tuple[tuple[tuple[str, ...], Decision], ...]


class PolicyEngine:
    """Immutable once built; safe to share between threads for ``decide``."""

    def __init__(
        self, model_path: Path | str = DEFAULT_MODEL_PATH, policy_path: Path | str = DEFAULT_POLICY_PATH
    ):
        self.model_path = Path(model_path)
        self.policy_path = Path(policy_path)
        with PARSE_LOCK:
            enforcer = casbin.Enforcer(str(self.model_path), str(self.policy_path))
            for name, fn in MATCHER_FUNCTIONS.items():
                enforcer.add_function(name, fn)
            model: Any = enforcer.get_model()
            if tuple(model["r"]["r"].tokens) != _REQUEST_TOKENS:
                raise ConfigError("model.conf: unexpected request definition")
            if tuple(model["p"]["p"].tokens) != _POLICY_TOKENS:
                raise ConfigError("model.conf: unexpected policy definition")
            if model["e"]["e"].value != _REQUIRED_EFFECT:
                raise ConfigError("model.conf: the effect must be first-match (priority)")
            # casbin's Model is not a Mapping (no __contains__), hence keys().
            if "g" in model.keys() or len(model["p"]) != 1 or len(model["m"]) != 1:  # noqa: SIM118
                raise ConfigError("model.conf: only one policy type and one matcher are supported")
            self._matcher: CompiledMatcher = compile_matcher(
                model["m"]["m"].value,
                _REQUEST_TOKENS,
                _POLICY_TOKENS,
                MATCHER_FUNCTIONS,
                required_guards=_INDEX_GUARDS,
            )
            rows = [list(values) for values in model["p"]["p"].policy]
        numbers = line_numbers(self.policy_path, len(rows))
        lines = tuple(_parse_line(values, where(i, "?", numbers)) for i, values in enumerate(rows))
        if not lines:
            raise ConfigError("policy.csv: no policy lines")
        self._enforcer = enforcer
        self.lines: tuple[PolicyLine, ...] = lines
        # Each bucket keeps file order, and holds every line whose role/action guards can be true for
        # that (role, action): lines left out could never match, so first-match is unchanged.
        entries = [(line, (line.values, line.decision)) for line in lines]
        index: dict[tuple[str, str], _Bucket] = {}
        for role in Role:
            for action in Action:
                index[(role.value, action.value)] = tuple(
                    entry
                    for line, entry in entries
                    if role_match(role.value, line.role) and act_match(action.value, line.act)
                )
        self._index = index
        self._decisions = dict(entry for _, entry in entries)
        # D17, D3, D9/D10, "Users": refused here, so a reload that fails keeps the old engine.
        check_invariants(lines, numbers, self._first_line, self._covers)

    def _first_line(self, role: str, act: str, shape: str, relations: frozenset[str]) -> int | None:
        """The index of the line that decides this request with exactly these relations (or None)."""
        fn = self._matcher.raw
        sub, obj, env = _Subject(role), _Object(shape), _Env(relations)
        for i, line in enumerate(self.lines):
            if role_match(role, line.role) and act_match(act, line.act):
                result = fn(sub, obj, act, env, *line.values)
                if result is True:
                    return i
                if result is not False:
                    raise ConfigError("model.conf: the matcher does not give a boolean")
        return None

    def _covers(self, index: int, role: str, act: str, shape: str) -> bool:
        line = self.lines[index]
        return role_match(role, line.role) and act_match(act, line.act) and cat_match(shape, line.cat)

    # -- production path ------------------------------------------------------------------------

    def decide(self, actor: Actor, target: Target, action: Action, ctx: DecisionContext) -> Decision:
        """Decide one request. Default deny; any exception is a deny (``error-deny``). Never cached."""
        try:
            return self._decide(actor, target, action, ctx)
        except Exception:  # noqa: BLE001 - fail closed: whatever went wrong, nothing is allowed
            return _ERROR_DENY

    def _decide(self, actor: Actor, target: Target, action: Action, ctx: DecisionContext) -> Decision:
        problem = _request_problem(actor, target, action, ctx)
        if problem is not None:
            return Decision(False, "invalid-request", problem)
        shape = target_shape(target)
        if shape is None:
            return Decision(False, "invalid-request", "target is not a case, category or system object")
        sub = _Subject(actor.role.value)
        obj = _Object(shape)
        act = action.value
        env = _Env(relations_of(actor, target, ctx))
        fn = self._matcher.raw
        for values, decision in self._index[(sub.role, act)]:
            result = fn(sub, obj, act, env, *values)
            if result is True:
                return decision
            if result is not False:
                raise TypeError("matcher result is not a boolean")
        return _DEFAULT_DENY

    # -- stock pycasbin path (tests and benchmark only) ------------------------------------------

    def decide_stock(self, actor: Actor, target: Target, action: Action, ctx: DecisionContext) -> Decision:
        """The same decision through pycasbin's own ``enforce_ex`` over every policy line.

        For comparison only: it re-parses the matcher per call (slow, and parsing from several
        threads can raise SystemError), so production code calls ``decide``.
        """
        try:
            problem = _request_problem(actor, target, action, ctx)
            if problem is not None:
                return Decision(False, "invalid-request", problem)
            shape = target_shape(target)
            if shape is None:
                return Decision(False, "invalid-request", "target is not a case, category or system object")
            env = _Env(relations_of(actor, target, ctx))
            allowed, explain = self._enforcer.enforce_ex(
                _Subject(actor.role.value), _Object(shape), action.value, env
            )
            if not explain:
                return _DEFAULT_DENY if not allowed else _ERROR_DENY
            decision = self._decisions[tuple(explain)]
            return decision if decision.allowed == bool(allowed) else _ERROR_DENY
        except Exception:  # noqa: BLE001 - fail closed, as decide()
            return _ERROR_DENY

    # -- D4 own-motion conversion -----------------------------------------------------------------

    def decide_own_motion_conversion(self, actor: Actor, target: Target, ctx: DecisionContext) -> Decision:
        """D4: may ``actor`` convert this advice case into a report without consent?

        The enum has no CONVERT action, so the conversion is a WRITE on the case record that must be
        allowed by the policy (not under break-the-glass) *and* carry two approvals by distinct staff
        of different disciplines plus a recorded reason (``ctx.purpose``). Only staff carry it out
        (``d4-staff-only``): the professional who asked the advice holds WRITE on it, but the
        takeover without consent is Veilig Thuis's decision.
        """
        try:
            if not actor.role.is_staff:
                return Decision(False, "d4-staff-only", "only staff convert an own-motion report")
            case = target.case
            if case is None or target.category is not None or target.document_id is not None:
                return Decision(False, "invalid-request", "conversion applies to a case record")
            if case.kind not in (CaseKind.ADVICE_HELP_SEEKER, CaseKind.ADVICE_PROFESSIONAL):
                return Decision(False, "d4-not-advice", "only an advice case can be converted")
            write = self.decide(actor, target, Action.WRITE, ctx)
            if not write.allowed or write.break_glass:
                return write
            return own_motion_conversion_allowed(ctx.own_motion_approvals, ctx.purpose)
        except Exception:  # noqa: BLE001 - fail closed
            return _ERROR_DENY


def own_motion_conversion_allowed(approvals: tuple[tuple[str, Role], ...], reason: str | None) -> Decision:
    """D4: two approvals by distinct staff members of different disciplines, and a recorded reason.

    Disciplines are the staff roles (medewerker, vertrouwensarts, teamleider). Any approval from a
    non-staff role or without an id makes the whole set invalid rather than being skipped, so a
    malformed list can never count towards the two.
    """
    try:
        if non_blank_chars(reason) == 0:
            return Decision(False, "d4-reason-required", "a conversion needs a recorded reason")
        for approver_id, role in approvals:
            if not approver_id or not isinstance(role, Role) or not role.is_staff:
                return Decision(False, "d4-invalid-approval", "every approval must come from staff")
        for i, (first_id, first_role) in enumerate(approvals):
            for second_id, second_role in approvals[i + 1 :]:
                if first_id != second_id and first_role is not second_role:
                    return Decision(
                        True, "d4-own-motion-conversion", "two disciplines approved the conversion"
                    )
        return Decision(False, "d4-two-disciplines-required", "needs two approvers of different disciplines")
    except Exception:  # noqa: BLE001 - fail closed
        return _ERROR_DENY


class PolicyHolder:
    """Holds the current engine. Readers use ``holder.current``; ``reload`` swaps in a new engine.

    An attribute assignment is atomic in CPython, so a reader sees either the old or the new engine,
    never a half-built one. Reloads are serialised (and parse under ``PARSE_LOCK``); if the new
    files are invalid the old engine stays in place and the error propagates.
    """

    def __init__(
        self, model_path: Path | str = DEFAULT_MODEL_PATH, policy_path: Path | str = DEFAULT_POLICY_PATH
    ):
        self._model_path = Path(model_path)
        self._policy_path = Path(policy_path)
        self._reload_lock = threading.Lock()
        self.current: PolicyEngine = PolicyEngine(self._model_path, self._policy_path)

    def reload(self) -> PolicyEngine:
        with self._reload_lock:
            engine = PolicyEngine(self._model_path, self._policy_path)
            self.current = engine
            return engine

    def decide(self, actor: Actor, target: Target, action: Action, ctx: DecisionContext) -> Decision:
        # Read the reference once so one decision runs entirely on one engine.
        return self.current.decide(actor, target, action, ctx)
