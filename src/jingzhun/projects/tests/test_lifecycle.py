"""The lifecycle table and its guard (pure Python)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jingzhun.projects import lifecycle as lc


def facts(state: str, **kw: object) -> lc.ProjectFacts:
    return lc.ProjectFacts(state=state, proposer_id=1, **kw)  # type: ignore[arg-type]


def test_the_forward_path_runs_from_proposal_to_handover() -> None:
    assert lc.required_path() == [
        "review",
        "admit",
        "plan",
        "approve",
        "start",
        "accept",
        "evaluate",
        "hand_over",
    ]


def test_every_move_leads_to_a_known_state_from_known_states() -> None:
    for m in lc.MOVES:
        assert m.target in lc.STATES
        assert all(s in lc.STATES and s not in lc.TERMINAL for s in m.sources)


@given(
    st.sampled_from(lc.MOVES),
    st.sampled_from(sorted(lc.STATES)),
    st.sampled_from(["village", "township", "county", "auditor", "helper"]),
)
def test_the_guard_never_allows_a_move_from_another_state_or_by_another_role(
    m: lc.Move, state: str, role: str
) -> None:
    ok = (
        lc.refusal(
            m.name,
            lc.ProjectFacts(
                state=state,
                proposer_id=1,
                has_targets=True,
                has_mechanism=True,
                budget_fen=100,
                planned_fen=100,
                plan_posting_ended=True,
                result_posted=True,
                benefit_links=1,
            ),
            actor_id=2,
            actor_role=role,
            reason="理由",
        )
        is None
    )
    assert ok == (state in m.sources and role in m.roles)


def test_the_proposer_cannot_review_their_own_project() -> None:
    r = lc.refusal("review", facts("proposed"), actor_id=1, actor_role="township")
    assert r is not None and r.status == 403 and "申报人" in r.message


def test_entry_into_the_bank_needs_targets_mechanism_and_a_full_funding_plan() -> None:
    base = {"has_targets": True, "has_mechanism": True, "budget_fen": 500}
    r = lc.refusal(
        "admit", facts("reviewed", **base, planned_fen=400), actor_id=2, actor_role="county"
    )
    assert r is not None and r.field == "funding"
    r = lc.refusal(
        "admit",
        facts("reviewed", budget_fen=500, planned_fen=500, has_mechanism=True),
        actor_id=2,
        actor_role="county",
    )
    assert r is not None and r.field == "targets"
    assert (
        lc.refusal(
            "admit", facts("reviewed", **base, planned_fen=500), actor_id=2, actor_role="county"
        )
        is None
    )


def test_approval_waits_for_the_plan_posting_and_evaluation_for_the_result() -> None:
    r = lc.refusal("approve", facts("planned"), actor_id=2, actor_role="county")
    assert r is not None and r.field == "posting"
    r = lc.refusal("evaluate", facts("accepted", benefit_links=3), actor_id=2, actor_role="county")
    assert r is not None and r.field == "posting"
    r = lc.refusal(
        "evaluate", facts("accepted", result_posted=True), actor_id=2, actor_role="county"
    )
    assert r is not None and r.field == "benefits"


def test_a_project_with_money_on_it_cannot_be_withdrawn() -> None:
    r = lc.refusal(
        "withdraw",
        facts("planned", allocated_unspent_fen=100),
        actor_id=2,
        actor_role="county",
        reason="年度调整",
    )
    assert r is not None and r.field == "funds"
    r = lc.refusal("withdraw", facts("planned"), actor_id=2, actor_role="county")
    assert r is not None and r.field == "reason"
