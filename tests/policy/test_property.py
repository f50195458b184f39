"""Property tests: an actor without membership, assignment, ownership or grant never gets content."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vault.domain import Action, CaseKind, Category, OrgType, Role
from vault.policy import (
    BREAK_GLASS_MIN_CHARS,
    Actor,
    CaseFacts,
    DecisionContext,
    GrantFacts,
    PolicyEngine,
    Target,
    non_blank_chars,
)

from .factbuilder import NOW

ENGINE = PolicyEngine()
CONTENT_ACTIONS = (Action.READ, Action.WRITE, Action.DISCLOSE, Action.EXPORT)
ACTOR_ID = "user-stranger"

ids = st.text(alphabet="abcdefghij-0123456789", min_size=1, max_size=8)
justifications = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet=" \t\nab", max_size=60),
    st.text(alphabet="\u200b\u200d\ufeff\u2060\u3164\u2800\u00a0a", max_size=60),  # invisible ones
    st.just("Acute danger reported by police; the team cannot be reached."),
)


@st.composite
def actors(draw: st.DrawFn, *, second_factor: bool | None = None) -> Actor:
    role = draw(st.sampled_from(Role))
    if role is Role.PARTNER:
        org_id: str | None = draw(ids)
        org_type: OrgType | None = draw(
            st.sampled_from([t for t in OrgType if t is not OrgType.VEILIG_THUIS])
        )
    elif role is Role.PROFESSIONAL:
        org_id, org_type = (
            draw(st.one_of(st.none(), ids)),
            draw(st.one_of(st.none(), st.sampled_from(OrgType))),
        )
    else:
        org_id, org_type = "org-vt", OrgType.VEILIG_THUIS
    return Actor(
        id=ACTOR_ID,
        role=role,
        # never the case's team: the actor has no membership
        team_ids=frozenset(draw(st.lists(ids, max_size=3))) - {"team-case"},
        org_id=org_id,
        org_type=org_type,
        second_factor_verified=draw(st.booleans()) if second_factor is None else second_factor,
    )


@st.composite
def unrelated_targets(draw: st.DrawFn) -> Target:
    case = CaseFacts(
        case_id=draw(ids),
        kind=draw(st.sampled_from(CaseKind)),
        team_id=draw(st.sampled_from(["team-case", None])),
        owner_id=draw(st.sampled_from([None, "user-owner"])),  # never the actor: no ownership
        assigned_user_ids=frozenset(draw(st.lists(ids, max_size=3))) - {ACTOR_ID},
        destroyed=draw(st.booleans()),
    )
    category = draw(st.one_of(st.none(), st.sampled_from(Category)))
    document = draw(st.one_of(st.none(), ids)) if category is not None else None
    return Target(case, category, document)


@st.composite
def contexts(draw: st.DrawFn, grant: GrantFacts | None = None) -> DecisionContext:
    return DecisionContext(
        now=NOW + timedelta(seconds=draw(st.integers(-(10**6), 10**6))),
        break_glass_justification=draw(justifications),
        grant=grant,
        reporter_identity_release=draw(st.booleans()),
        own_motion_approvals=(),
        purpose=draw(st.one_of(st.none(), st.text(max_size=20))),
    )


def _non_blank(text: str | None) -> int:
    """What a reader sees of ``text``, told apart here on its own: a zero-width space, joiner or BOM,
    a Hangul filler or a blank braille cell shows nothing, as white space does."""
    invisible = set("\u200b\u200c\u200d\u2060\ufeff\u3164\u2800\u115f\u1160\uffa0")
    return 0 if text is None else sum(not ch.isspace() and ch not in invisible for ch in text)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(actor=actors(), target=unrelated_targets(), action=st.sampled_from(CONTENT_ACTIONS), ctx=contexts())
def test_no_relation_no_content_except_flagged_break_glass_read(
    actor: Actor, target: Target, action: Action, ctx: DecisionContext
) -> None:
    decision = ENGINE.decide(actor, target, action, ctx)
    if decision.allowed:
        # D20 is the only way in without a relation: staff, READ, a real justification, flagged.
        assert action is Action.READ
        assert actor.role.is_staff
        assert actor.second_factor_verified
        assert decision.break_glass
        assert decision.rule in {"p:break-glass-read", "p:break-glass-read-medical"}
        assert _non_blank(ctx.break_glass_justification) >= BREAK_GLASS_MIN_CHARS
        assert target.case is not None
        assert not target.case.destroyed
        assert target.category is not Category.REPORTER_IDENTITY
        if target.category is Category.MEDICAL:
            assert actor.role is Role.VERTROUWENSARTS


@settings(max_examples=300)
@given(actor=actors(), target=unrelated_targets(), action=st.sampled_from(CONTENT_ACTIONS), ctx=contexts())
def test_no_relation_no_justification_no_content(
    actor: Actor, target: Target, action: Action, ctx: DecisionContext
) -> None:
    ctx = DecisionContext(ctx.now, None, None, ctx.reporter_identity_release, (), ctx.purpose)
    assert not ENGINE.decide(actor, target, action, ctx).allowed


@settings(max_examples=300)
@given(
    actor=actors(second_factor=False),
    target=unrelated_targets(),
    action=st.sampled_from(Action),
    ctx=contexts(),
    member=st.booleans(),
)
def test_d17_nothing_without_second_factor(
    actor: Actor, target: Target, action: Action, ctx: DecisionContext, member: bool
) -> None:
    if member and target.case is not None and target.case.team_id:
        actor = Actor(
            actor.id, actor.role, frozenset({target.case.team_id}), actor.org_id, actor.org_type, False
        )
    assert not ENGINE.decide(actor, target, action, ctx).allowed


@settings(max_examples=150, deadline=None)
@given(actor=actors(), target=unrelated_targets(), action=st.sampled_from(Action), ctx=contexts())
def test_compiled_matches_stock_pycasbin_on_random_requests(
    actor: Actor, target: Target, action: Action, ctx: DecisionContext
) -> None:
    assert ENGINE.decide(actor, target, action, ctx) == ENGINE.decide_stock(actor, target, action, ctx)


@st.composite
def related_requests(draw: st.DrawFn) -> tuple[Actor, Target, Action, DecisionContext]:
    """Requests where membership, assignment, ownership and grants are drawn too."""
    actor = draw(actors())
    target = draw(unrelated_targets())
    case = target.case
    assert case is not None
    if draw(st.booleans()) and case.team_id:
        actor = Actor(
            actor.id,
            actor.role,
            actor.team_ids | {case.team_id},
            actor.org_id,
            actor.org_type,
            actor.second_factor_verified,
        )
    assigned = case.assigned_user_ids | ({ACTOR_ID} if draw(st.booleans()) else set())
    owner = ACTOR_ID if draw(st.booleans()) else case.owner_id
    case = CaseFacts(case.case_id, case.kind, case.team_id, owner, frozenset(assigned), case.destroyed)
    target = Target(case, target.category, target.document_id)
    grant = None
    if draw(st.booleans()):
        grant = GrantFacts(
            grant_id="g",
            case_id=draw(st.sampled_from([case.case_id, "other-case"])),
            org_id=draw(st.sampled_from([actor.org_id or "org-x", "org-other"])),
            categories=frozenset(draw(st.lists(st.sampled_from(Category), max_size=4))),
            document_ids=frozenset(
                draw(st.lists(st.sampled_from([target.document_id or "d", "d2"]), max_size=2))
            ),
            valid_from=NOW - timedelta(days=draw(st.integers(-2, 30))),
            valid_until=NOW + timedelta(days=draw(st.integers(-2, 30))),
            revoked=draw(st.booleans()),
            retrievals_used=draw(st.integers(0, 4)),
            max_retrievals=draw(st.integers(0, 4)),
            reporter_identity_released=draw(st.booleans()),
        )
    ctx = draw(contexts(grant=grant))
    return actor, target, draw(st.sampled_from(Action)), ctx


@settings(max_examples=400, deadline=None)
@given(request=related_requests())
def test_compiled_matches_stock_pycasbin_with_relations(
    request: tuple[Actor, Target, Action, DecisionContext],
) -> None:
    actor, target, action, ctx = request
    assert ENGINE.decide(actor, target, action, ctx) == ENGINE.decide_stock(actor, target, action, ctx)


@pytest.mark.parametrize(
    "justification",
    [
        "\u200b" * 40,  # zero-width spaces
        "a" + "\u200d\u2060\ufeff" * 10,  # joiners, word joiners, byte-order marks
        "\u3164" * 25 + "ok",  # Hangul fillers show as blank
        "\u2800" * 30,  # blank braille cells
        "spoed\u200b" * 3 + "  \u00a0\u2003 x",  # 16 letters a reader sees
    ],
)
def test_d20_invisible_characters_are_no_written_justification(justification: str) -> None:
    """D20: break-the-glass needs a justification of 20 characters a reader can see; characters that
    show as nothing do not count (the gate, the form and the log review count them the same way)."""
    actor = Actor(ACTOR_ID, Role.MEDEWERKER, frozenset(), "org-vt", OrgType.VEILIG_THUIS, True)
    case = CaseFacts("case-1", CaseKind.REPORT, "team-case", None, frozenset(), False)
    ctx = DecisionContext(NOW, justification, None, False, (), None)
    assert non_blank_chars(justification) < BREAK_GLASS_MIN_CHARS
    assert not ENGINE.decide(actor, Target(case, None, None), Action.READ, ctx).allowed
    written = justification + "Acute dreiging gemeld door de politie"
    visible = DecisionContext(NOW, written, None, False, (), None)
    assert ENGINE.decide(actor, Target(case, None, None), Action.READ, visible).allowed
