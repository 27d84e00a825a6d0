"""Property test of the transition tables: whatever moves random actors attempt, in any order, a
case never reaches an approved state without every required step since the last send-back, and
never with the submitter approving. Plus the working-day counter against the official calendar."""

from __future__ import annotations

import datetime

import hypothesis.strategies as st
import pytest
from hypothesis import event, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from jingzhun.core.errors import DomainError
from jingzhun.policy.store import default_store
from jingzhun.workflows.transitions import (
    BACK,
    CHECKLIST,
    EVIDENCE_KINDS,
    FLOWS,
    FORWARD,
    KINDS,
    OBJECTION,
    CaseFacts,
    refusal,
)
from jingzhun.workflows.workdays import DAYS, WORKING_DAYS, calendar_from

SUBMITTER = 1
ROLES = ["village", "township", "county", "helper", "auditor"]


class CaseMachine(RuleBasedStateMachine):
    """A case of a random kind driven by random attempts; only moves the guard allows happen."""

    @initialize(kind=st.sampled_from(sorted(FLOWS)))
    def start(self, kind: str) -> None:
        self.flow = FLOWS[kind]
        self.state = self.flow.initial
        self.evidence: set[str] = set()
        self.checklist: set[str] = set()
        self.posting_ended = False
        self.posting_objected = False
        self.had_objection = False
        self.assessment_ok = False
        self.since_reset: list[tuple[str, int]] = []  # (move, actor) since the last send-back

    def facts(self) -> CaseFacts:
        return CaseFacts(
            kind=self.flow.kind,
            state=self.state,
            submitter_id=SUBMITTER,
            evidence=frozenset(self.evidence),
            checklist=frozenset(self.checklist),
            posting_ended=self.posting_ended,
            posting_objected=self.posting_objected,
            had_objection=self.had_objection,
            assessment_ok=self.assessment_ok,
        )

    @rule(kind=st.sampled_from(sorted(EVIDENCE_KINDS)))
    def upload(self, kind: str) -> None:
        self.evidence.add(kind)

    @rule(item=st.sampled_from(sorted(CHECKLIST)))
    def tick(self, item: str) -> None:
        self.checklist.add(item)

    @rule()
    def time_passes(self) -> None:
        self.posting_ended = True

    @rule(ok=st.booleans())
    def assessment(self, ok: bool) -> None:
        self.assessment_ok = ok

    @rule(data=st.data(), actor=st.integers(min_value=1, max_value=3))
    def attempt(self, data: st.DataObject, actor: int) -> None:
        # mostly moves that exist in this state (else the walk rarely gets far), sometimes any
        here = [m.name for m in self.flow.moves_from(self.state)]
        anywhere = [m.name for m in self.flow.moves] + ["nonsense"]
        name = data.draw(st.sampled_from(here) if here else st.just("nonsense"))
        if data.draw(st.integers(0, 4)) == 0:
            name = data.draw(st.sampled_from(anywhere))
        wanted = self.flow.move(name)
        role = data.draw(st.sampled_from(ROLES))
        if wanted is not None and data.draw(st.integers(0, 4)) > 0:
            role = data.draw(st.sampled_from(sorted(wanted.roles)))
            # usually prepare what the move needs, each part sometimes forgotten
            for kind in wanted.evidence:
                if data.draw(st.integers(0, 9)) > 0:
                    self.evidence.add(kind)
            for item in (*wanted.checklist, "recheck_complaints"):
                if data.draw(st.integers(0, 9)) > 0:
                    self.checklist.add(item)
            if wanted.posting_ended and data.draw(st.integers(0, 9)) > 0:
                self.posting_ended = True
            if wanted.assessment and data.draw(st.integers(0, 9)) > 0:
                self.assessment_ok = True
        reason = data.draw(st.sampled_from(["", "理由", "理由"]))
        facts = self.facts()
        refused = refusal(self.flow, name, facts, actor_id=actor, actor_role=role, reason=reason)
        if refused is not None:
            assert refused.status in (400, 403, 409)
            return
        move = self.flow.move(name)
        assert move is not None
        # independent restatement of what the guard had to check
        assert self.state in move.sources and role in move.roles
        assert set(move.evidence) <= self.evidence
        if move.second_person:
            assert actor != SUBMITTER
        if move.posting_ended:
            assert self.posting_ended and not self.posting_objected
        if move.assessment:
            assert self.assessment_ok
        if move.checklist:
            assert set(move.checklist) <= self.checklist
            assert not self.had_objection or "recheck_complaints" in self.checklist
        self.state = move.target
        event(f"{self.flow.kind} reached {self.state}")
        self.evidence.clear()  # uploads are linked to the step just made
        if move.starts_posting:
            self.posting_ended = self.posting_objected = False
        if move.sort == OBJECTION:
            self.posting_objected = self.had_objection = True
        if move.sort in (BACK, OBJECTION):
            self.since_reset = []
        else:
            self.since_reset.append((name, actor))

    @invariant()
    def approved_only_through_every_step_and_a_second_person(self) -> None:
        if not hasattr(self, "flow"):
            return
        path = self.flow.required_path()
        reached = {"approved": path.index("approve") + 1, self.flow.done: len(path)}
        if self.state not in reached:
            return
        made = [name for name, _actor in self.since_reset]
        assert made == path[: reached[self.state]], (self.flow.kind, made)
        approvers = [a for name, a in self.since_reset if name in ("approve", "review")]
        assert approvers and SUBMITTER not in approvers

    @invariant()
    def rejected_only_by_a_second_person_with_a_reason(self) -> None:
        if getattr(self, "state", None) == "rejected":
            assert self.since_reset[-1][1] != SUBMITTER


CaseMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)
TestTransitionTables = CaseMachine.TestCase


def test_the_machine_draws_from_every_kind() -> None:
    # the state machine samples its kind from FLOWS; every kind a case may have is a flow there,
    # including the round's return, removal and natural change
    assert set(FLOWS) == set(KINDS)
    assert {"return", "removal", "natural_change"} <= set(FLOWS)


def test_every_flow_has_one_forward_path_to_done() -> None:
    for flow in FLOWS.values():
        path = flow.required_path()
        assert "approve" in path and path[-1] == "announce"
        assert all(flow.move(n).sort == FORWARD for n in path)  # type: ignore[union-attr]
        for state in flow.states:
            assert state in flow.terminal or flow.moves_from(state), (flow.kind, state)


# --- working days -------------------------------------------------------------------------------

D = datetime.date


@pytest.fixture(scope="module")
def calendar():  # type: ignore[no-untyped-def]
    return calendar_from(default_store())


def test_spring_festival_2026_and_its_make_up_days(calendar) -> None:  # type: ignore[no-untyped-def]
    # 国办发明电〔2025〕7号: 15-23 Feb off; Saturday 14 Feb and Saturday 28 Feb are working days
    assert not any(calendar.is_working_day(D(2026, 2, d)) for d in range(15, 24))
    assert calendar.is_working_day(D(2026, 2, 14)) and calendar.is_working_day(D(2026, 2, 28))
    # five working days from Thursday 12 Feb: 12, 13, 14 (Sat, make-up), 24, 25
    assert calendar.end_of(D(2026, 2, 12), 5, WORKING_DAYS) == D(2026, 2, 25)
    assert calendar.end_of(D(2026, 2, 12), 5, DAYS) == D(2026, 2, 16)


def test_national_day_2025_and_an_ordinary_week(calendar) -> None:  # type: ignore[no-untyped-def]
    # 国办发明电〔2024〕12号: 1-8 Oct off, Sunday 28 Sep and Saturday 11 Oct worked
    assert calendar.end_of(D(2025, 9, 26), 5, WORKING_DAYS) == D(2025, 10, 9)
    assert calendar.end_of(D(2025, 11, 3), 5, WORKING_DAYS) == D(2025, 11, 7)
    # a start on a weekend begins counting on the next working day
    assert calendar.end_of(D(2025, 11, 8), 5, WORKING_DAYS) == D(2025, 11, 14)


def test_a_year_without_a_notice_is_refused(calendar) -> None:  # type: ignore[no-untyped-def]
    # chinese-calendar 1.11 has the notices up to 2026; the overrides file declares no 2027
    with pytest.raises(DomainError, match=r"2027.*notice_2027"):
        calendar.end_of(D(2026, 12, 24), 10, WORKING_DAYS)
    assert calendar.end_of(D(2026, 12, 24), 10, DAYS) == D(2027, 1, 2)


def test_the_package_agrees_with_the_table_it_replaced(calendar) -> None:  # type: ignore[no-untyped-def]
    # rows of the hand-written policies/tables/holiday_calendar.yaml (2024-2026) it replaced
    rest = [D(2024, 1, 1), D(2024, 2, 10), D(2024, 4, 4), D(2024, 5, 1), D(2025, 1, 28)]
    rest += [D(2025, 10, 8), D(2026, 1, 1), D(2026, 10, 1), D(2026, 10, 7)]
    worked = [D(2024, 2, 4), D(2024, 2, 18), D(2024, 4, 7), D(2024, 4, 28), D(2024, 5, 11)]
    worked += [D(2025, 9, 28), D(2025, 10, 11), D(2026, 2, 14), D(2026, 2, 28)]
    assert not any(calendar.is_working_day(d) for d in rest)
    assert all(calendar.is_working_day(d) for d in worked)


def test_local_overrides_win_and_a_declared_year_is_counted() -> None:
    from jingzhun.workflows.workdays import HolidayCalendar

    calendar = HolidayCalendar(
        {
            (D(2026, 4, 20), "45"): False,  # a province's own rest day (Monday)
            (D(2026, 4, 20), "450102"): True,  # … worked in one of its counties
            (D(2027, 1, 1), ""): False,  # 2027's notice, entered before the package has it
        },
        frozenset({2027}),
        "test",
    )
    assert calendar.is_working_day(D(2026, 4, 20))  # elsewhere an ordinary Monday
    assert not calendar.is_working_day(D(2026, 4, 20), "450103000000")
    assert calendar.is_working_day(D(2026, 4, 20), "450102100201")
    # 2027 declared: weekdays minus its rows (1 Jan off), so 31 Dec + 2 working days = 5 Jan
    assert calendar.add(D(2026, 12, 31), 2, WORKING_DAYS) == D(2027, 1, 5)
