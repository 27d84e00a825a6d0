"""The transition tables: the one place that defines every allowed move of every kind of case.

Pure Python (no Django), so the tables and their guard can be checked by a property test. The
actions (`workflows.actions`) look a move up here, ask `refusal(...)` whether the actor may make
it on the case as it stands, and only then write. Procedures follow domain.md §3.6 and §4:

- identification (精准识别): application → household check → democratic appraisal → first village
  posting → township review → second posting → data comparison → county approval → announcement;
- exit (脱贫退出): proposal → appraisal → verification → the household's signed agreement → village
  posting → township review → county approval (the standards assessment must pass) → announcement;
- monitoring (监测对象识别): report → visit with signed authorisation → data comparison → appraisal →
  posting (≥ 5 days) → township review → county approval → announcement; ≤ 15 days from the clue;
- elimination (风险消除): proposal → visit → appraisal → posting → township review → county approval
  → announcement; monitored ≥ 6 months, ≥ 1 assistance measure, never without labour capacity;
- return (返贫认定), an exited household falling back: village proposal → visit and data comparison
  → appraisal → township review → posting → county approval → announcement (status `returned`);
- removal (清退/错评), a wrongly included household: proposal → visit and data comparison →
  appraisal → village posting → township review → county approval → announcement (status `removed`);
- natural change (自然变更: births, deaths, marriages, moves, 自然销户): proposal → verification
  against the household register or civil-affairs record → township review → county approval →
  registration (the structured change is applied through the registry's actions). No posting.

The dynamic adjustment rounds (domain.md §4) bundle all of these county-wide.

An objection during a posting, and a return by a reviewer, send the case back to its first state
(re-check from the start). The submitter can never make a move marked `second_person`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

KINDS: Final = {
    "identification": "贫困户识别",
    "exit": "贫困户退出",
    "monitoring": "监测对象识别",
    "elimination": "风险消除",
    "return": "返贫认定",
    "removal": "清退（错评）",
    "natural_change": "自然变更",
}

EVIDENCE_KINDS: Final = {
    "application": "申请书",
    "visit_record": "入户核查记录",
    "authorisation": "授权承诺书",
    "minutes": "会议记录",
    "sign_in": "签到表",
    "photo": "照片",
    "agreement": "农户签字确认书",
    "comparison": "数据比对结果",
    "measure": "帮扶措施记录",
    "announcement": "公告",
    "civil_record": "户籍或民政证明",
    "other": "其他",
}

# 三个核对 (new cases, exits, complaints) and 三个印证 (neighbours, the appraisal meeting, archive
# data) [reports]; the last three are the risk-elimination conditions of domain.md §3.6.
CHECKLIST: Final = {
    "recheck_new": "核对新识别对象",
    "recheck_exit": "核对退出对象",
    "recheck_complaints": "核对信访举报问题",
    "corroborate_neighbours": "邻里印证",
    "corroborate_meeting": "评议会印证",
    "corroborate_archive": "档案资料印证",
    "income_stable": "收入持续稳定在监测范围以上 6 个月以上",
    "spending_resolved": "刚性支出问题已解决",
    "guarantees_secure": "“三保障”和饮水安全有保障",
}
CORROBORATIONS: Final = ("corroborate_neighbours", "corroborate_meeting", "corroborate_archive")

# Roles that act on cases (the region roles that may write); helpers and auditors only read.
ACTING_ROLES: Final = frozenset({"village", "township", "county"})
FORWARD, BACK, OBJECTION, REJECT = "forward", "back", "objection", "reject"


@dataclass(frozen=True)
class Move:
    """One allowed move: from any of `sources` to `target`, by one of `roles`."""

    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    roles: frozenset[str]
    evidence: tuple[str, ...] = ()  # kinds that must be uploaded for this step
    checklist: tuple[str, ...] = ()  # items that must be ticked before this step
    posting_ended: bool = False  # the current posting has ended without an objection
    starts_posting: bool = False  # the move puts up a posting (start, length, unit)
    second_person: bool = False  # the actor must not be the case's submitter
    needs_reason: bool = False
    assessment: bool = False  # exit: the household's standards assessment passes
    effect: str = ""  # the registry change applied when the move is made
    sort: str = FORWARD


@dataclass(frozen=True)
class Flow:
    """The states and moves of one kind of case."""

    kind: str
    initial: str
    states: dict[str, str]
    moves: tuple[Move, ...]
    done: str  # the final, successful state
    openers: frozenset[str]
    deadline_days: int | None = None  # calendar days from the first clue to entry
    min_posting_days: int = 5
    terminal: frozenset[str] = field(default_factory=frozenset)

    @property
    def label(self) -> str:
        return KINDS[self.kind]

    def move(self, name: str) -> Move | None:
        return next((m for m in self.moves if m.name == name), None)

    def moves_from(self, state: str) -> list[Move]:
        return [m for m in self.moves if state in m.sources]

    def is_open(self, state: str) -> bool:
        return state not in self.terminal

    def required_path(self) -> list[str]:
        """The forward moves from the initial state to `done`, in order (each exactly once)."""
        path, state = [], self.initial
        while state != self.done:
            move = next(m for m in self.moves if m.sort == FORWARD and state in m.sources)
            path.append(move.name)
            state = move.target
        return path


VILLAGE = frozenset({"village"})
TOWNSHIP = frozenset({"township"})
COUNTY = frozenset({"county"})
REVIEW_ROLES = frozenset({"village", "township", "county"})


def _common_tail(
    *,
    posting: str,
    first: str,
    checklist: tuple[str, ...],
    done: str,
    effect: str,
    assessment: bool = False,
) -> tuple[Move, ...]:
    """Township review, county approval and announcement after a village posting."""
    return (
        Move(
            "object",
            "记录异议（退回重新核查）",
            (posting,),
            first,
            REVIEW_ROLES,
            needs_reason=True,
            sort=OBJECTION,
        ),
        Move(
            "review",
            "乡镇审核通过",
            (posting,),
            "reviewed",
            TOWNSHIP,
            posting_ended=True,
            second_person=True,
        ),
        Move(
            "return", "退回村级重新核查", (posting,), first, TOWNSHIP, needs_reason=True, sort=BACK
        ),
        Move(
            "approve",
            "县级审批通过",
            ("reviewed",),
            "approved",
            COUNTY,
            checklist=checklist,
            second_person=True,
            assessment=assessment,
        ),
        Move(
            "county_return",
            "县级退回重新核查",
            ("reviewed",),
            first,
            COUNTY,
            needs_reason=True,
            sort=BACK,
        ),
        Move(
            "reject",
            "不予通过（结案）",
            ("reviewed",),
            "rejected",
            COUNTY,
            second_person=True,
            needs_reason=True,
            sort=REJECT,
        ),
        Move("announce", "公告并办结", ("approved",), done, COUNTY, effect=effect),
    )


ENTRY_CHECKS: Final = ("recheck_new", *CORROBORATIONS)
EXIT_CHECKS: Final = ("recheck_exit", *CORROBORATIONS)
# A wrongly included household is found by re-checking registered households (三个核对 covers new
# cases and exits, not removals): the three corroborations are what must hold.
REMOVAL_CHECKS: Final = CORROBORATIONS

FLOWS: Final[dict[str, Flow]] = {
    "identification": Flow(
        kind="identification",
        initial="applied",
        states={
            "applied": "已申请",
            "checked": "已入户核查",
            "appraised": "已民主评议",
            "first_posting": "村级第一次公示",
            "reviewed": "乡镇已审核",
            "second_posting": "第二次公示",
            "compared": "已数据比对",
            "approved": "县级已审批",
            "registered": "已公告登记",
            "rejected": "不予识别",
        },
        moves=(
            Move("check", "入户核查", ("applied",), "checked", VILLAGE, evidence=("visit_record",)),
            Move(
                "appraise",
                "民主评议",
                ("checked",),
                "appraised",
                VILLAGE,
                evidence=("minutes", "sign_in"),
            ),
            Move(
                "post_first",
                "村级第一次公示",
                ("appraised",),
                "first_posting",
                VILLAGE,
                starts_posting=True,
            ),
            Move(
                "object",
                "记录异议（退回重新核查）",
                ("first_posting", "second_posting"),
                "applied",
                REVIEW_ROLES,
                needs_reason=True,
                sort=OBJECTION,
            ),
            Move(
                "review",
                "乡镇审核通过",
                ("first_posting",),
                "reviewed",
                TOWNSHIP,
                posting_ended=True,
                second_person=True,
            ),
            Move(
                "return",
                "退回村级重新核查",
                ("first_posting",),
                "applied",
                TOWNSHIP,
                needs_reason=True,
                sort=BACK,
            ),
            Move(
                "post_second",
                "乡镇第二次公示",
                ("reviewed",),
                "second_posting",
                TOWNSHIP,
                starts_posting=True,
            ),
            Move(
                "compare",
                "数据比对",
                ("second_posting",),
                "compared",
                COUNTY,
                evidence=("comparison",),
                posting_ended=True,
            ),
            Move(
                "county_return",
                "县级退回重新核查",
                ("compared",),
                "applied",
                COUNTY,
                needs_reason=True,
                sort=BACK,
            ),
            Move(
                "approve",
                "县级审批通过",
                ("compared",),
                "approved",
                COUNTY,
                checklist=ENTRY_CHECKS,
                second_person=True,
            ),
            Move(
                "reject",
                "不予识别（结案）",
                ("compared",),
                "rejected",
                COUNTY,
                second_person=True,
                needs_reason=True,
                sort=REJECT,
            ),
            Move("announce", "公告并登记", ("approved",), "registered", COUNTY, effect="identify"),
        ),
        done="registered",
        openers=frozenset({"village", "township", "county"}),
        terminal=frozenset({"registered", "rejected"}),
    ),
    "exit": Flow(
        kind="exit",
        initial="proposed",
        states={
            "proposed": "村级已提出",
            "appraised": "已民主评议",
            "verified": "村委会和工作队已核实",
            "agreed": "农户已签字认可",
            "posting": "村级公示中",
            "reviewed": "乡镇已审核",
            "approved": "县级已审批",
            "exited": "已公告退出",
            "rejected": "不予退出",
        },
        moves=(
            Move(
                "appraise",
                "民主评议",
                ("proposed",),
                "appraised",
                VILLAGE,
                evidence=("minutes", "sign_in"),
            ),
            Move(
                "verify",
                "村委会和驻村工作队核实",
                ("appraised",),
                "verified",
                VILLAGE,
                evidence=("visit_record",),
            ),
            Move(
                "agree", "农户签字认可", ("verified",), "agreed", VILLAGE, evidence=("agreement",)
            ),
            Move("post", "村级公示", ("agreed",), "posting", VILLAGE, starts_posting=True),
            *_common_tail(
                posting="posting",
                first="proposed",
                checklist=EXIT_CHECKS,
                done="exited",
                effect="exit",
                assessment=True,
            ),
        ),
        done="exited",
        openers=frozenset({"village"}),
        terminal=frozenset({"exited", "rejected"}),
    ),
    "monitoring": Flow(
        kind="monitoring",
        initial="reported",
        states={
            "reported": "已发现（申报/排查/预警）",
            "visited": "已入户核实并签署授权",
            "compared": "已数据比对",
            "appraised": "已民主评议",
            "posting": "村级公示中",
            "reviewed": "乡镇已审核",
            "approved": "县级已审批",
            "monitored": "已纳入监测",
            "rejected": "不予纳入",
        },
        moves=(
            Move(
                "visit",
                "入户核实并签署授权",
                ("reported",),
                "visited",
                VILLAGE,
                evidence=("visit_record", "authorisation"),
            ),
            Move(
                "compare", "数据比对", ("visited",), "compared", TOWNSHIP, evidence=("comparison",)
            ),
            Move(
                "appraise",
                "民主评议",
                ("compared",),
                "appraised",
                VILLAGE,
                evidence=("minutes", "sign_in"),
            ),
            Move("post", "村级公示", ("appraised",), "posting", VILLAGE, starts_posting=True),
            *_common_tail(
                posting="posting",
                first="reported",
                checklist=ENTRY_CHECKS,
                done="monitored",
                effect="monitor",
            ),
        ),
        done="monitored",
        openers=frozenset({"village", "township", "county"}),
        deadline_days=15,
        terminal=frozenset({"monitored", "rejected"}),
    ),
    "elimination": Flow(
        kind="elimination",
        initial="proposed",
        states={
            "proposed": "已提出",
            "visited": "已入户核实",
            "appraised": "已民主评议",
            "posting": "村级公示中",
            "reviewed": "乡镇已审核",
            "approved": "县级已审批",
            "eliminated": "已标注风险消除",
            "rejected": "不予消除",
        },
        moves=(
            Move(
                "visit",
                "入户核实",
                ("proposed",),
                "visited",
                VILLAGE,
                evidence=("visit_record", "measure"),
            ),
            Move(
                "appraise",
                "民主评议",
                ("visited",),
                "appraised",
                VILLAGE,
                evidence=("minutes", "sign_in"),
            ),
            Move("post", "村级公示", ("appraised",), "posting", VILLAGE, starts_posting=True),
            *_common_tail(
                posting="posting",
                first="proposed",
                checklist=(
                    *EXIT_CHECKS,
                    "income_stable",
                    "spending_resolved",
                    "guarantees_secure",
                ),
                done="eliminated",
                effect="eliminate",
            ),
        ),
        done="eliminated",
        openers=frozenset({"village", "township"}),
        terminal=frozenset({"eliminated", "rejected"}),
    ),
    "return": Flow(
        kind="return",
        initial="proposed",
        states={
            "proposed": "村级已提出",
            "checked": "已入户核查并比对",
            "appraised": "已民主评议",
            "reviewed": "乡镇已审核",
            "posting": "公示中",
            "approved": "县级已审批",
            "returned": "已公告返贫",
            "rejected": "不予认定返贫",
        },
        moves=(
            Move(
                "check",
                "入户核查和数据比对",
                ("proposed",),
                "checked",
                VILLAGE,
                evidence=("visit_record", "comparison"),
            ),
            Move(
                "appraise",
                "民主评议",
                ("checked",),
                "appraised",
                VILLAGE,
                evidence=("minutes", "sign_in"),
            ),
            Move(
                "review",
                "乡镇审核通过",
                ("appraised",),
                "reviewed",
                TOWNSHIP,
                second_person=True,
            ),
            Move(
                "return",
                "退回村级重新核查",
                ("appraised",),
                "proposed",
                TOWNSHIP,
                needs_reason=True,
                sort=BACK,
            ),
            Move("post", "公示", ("reviewed",), "posting", TOWNSHIP, starts_posting=True),
            Move(
                "object",
                "记录异议（退回重新核查）",
                ("posting",),
                "proposed",
                REVIEW_ROLES,
                needs_reason=True,
                sort=OBJECTION,
            ),
            Move(
                "approve",
                "县级审批通过",
                ("posting",),
                "approved",
                COUNTY,
                checklist=ENTRY_CHECKS,
                posting_ended=True,
                second_person=True,
            ),
            Move(
                "county_return",
                "县级退回重新核查",
                ("posting",),
                "proposed",
                COUNTY,
                needs_reason=True,
                sort=BACK,
            ),
            Move(
                "reject",
                "不予通过（结案）",
                ("posting",),
                "rejected",
                COUNTY,
                posting_ended=True,
                second_person=True,
                needs_reason=True,
                sort=REJECT,
            ),
            Move("announce", "公告并标注返贫", ("approved",), "returned", COUNTY, effect="return"),
        ),
        done="returned",
        openers=frozenset({"village", "township", "county"}),
        terminal=frozenset({"returned", "rejected"}),
    ),
    "removal": Flow(
        kind="removal",
        initial="proposed",
        states={
            "proposed": "已提出清退",
            "checked": "已入户核查并比对",
            "appraised": "已民主评议",
            "posting": "村级公示中",
            "reviewed": "乡镇已审核",
            "approved": "县级已审批",
            "removed": "已公告清退",
            "rejected": "不予清退",
        },
        moves=(
            Move(
                "check",
                "入户核查和数据比对",
                ("proposed",),
                "checked",
                VILLAGE,
                evidence=("visit_record", "comparison"),
            ),
            Move(
                "appraise",
                "民主评议",
                ("checked",),
                "appraised",
                VILLAGE,
                evidence=("minutes", "sign_in"),
            ),
            Move("post", "村级公示", ("appraised",), "posting", VILLAGE, starts_posting=True),
            *_common_tail(
                posting="posting",
                first="proposed",
                checklist=REMOVAL_CHECKS,
                done="removed",
                effect="remove",
            ),
        ),
        done="removed",
        openers=frozenset({"village", "township", "county"}),
        terminal=frozenset({"removed", "rejected"}),
    ),
    "natural_change": Flow(
        kind="natural_change",
        initial="proposed",
        states={
            "proposed": "村级已提出",
            "verified": "已核实证明材料",
            "reviewed": "乡镇已审核",
            "approved": "县级已审批",
            "changed": "已变更登记",
            "rejected": "不予变更",
        },
        moves=(
            Move(
                "verify",
                "核实户籍或民政证明",
                ("proposed",),
                "verified",
                VILLAGE,
                evidence=("civil_record",),
            ),
            Move(
                "review",
                "乡镇审核通过",
                ("verified",),
                "reviewed",
                TOWNSHIP,
                second_person=True,
            ),
            Move(
                "return",
                "退回村级重新核查",
                ("verified",),
                "proposed",
                TOWNSHIP,
                needs_reason=True,
                sort=BACK,
            ),
            Move(
                "approve",
                "县级审批通过",
                ("reviewed",),
                "approved",
                COUNTY,
                checklist=("corroborate_archive",),
                second_person=True,
            ),
            Move(
                "county_return",
                "县级退回重新核查",
                ("reviewed",),
                "proposed",
                COUNTY,
                needs_reason=True,
                sort=BACK,
            ),
            Move(
                "reject",
                "不予通过（结案）",
                ("reviewed",),
                "rejected",
                COUNTY,
                second_person=True,
                needs_reason=True,
                sort=REJECT,
            ),
            Move("announce", "变更登记", ("approved",), "changed", COUNTY, effect="natural_change"),
        ),
        done="changed",
        openers=frozenset({"village", "township", "county"}),
        terminal=frozenset({"changed", "rejected"}),
    ),
}

ALL_STATES: Final = {
    (kind, state): label for kind, flow in FLOWS.items() for state, label in flow.states.items()
}


@dataclass(frozen=True)
class CaseFacts:
    """What the guard needs to know about a case as it stands (read under the row lock)."""

    kind: str
    state: str
    submitter_id: int | None
    evidence: frozenset[str] = frozenset()  # kinds uploaded for the current step
    checklist: frozenset[str] = frozenset()  # items ticked
    posting_ended: bool = False  # the current posting exists and its period is over
    posting_objected: bool = False
    had_objection: bool = False  # an objection was ever recorded (complaints must be re-checked)
    assessment_ok: bool = False  # exit: a current household_exit assessment passes every criterion
    assessment_note: str = ""


@dataclass(frozen=True)
class Refusal:
    """Why a move is refused: `status` is the HTTP status the API answers with."""

    status: int
    message: str
    field: str | None = None


def required_checklist(move: Move, facts: CaseFacts) -> tuple[str, ...]:
    """The checklist items the move needs; complaints are re-checked once an objection was made."""
    items = list(move.checklist)
    if move.checklist and facts.had_objection:
        items.append("recheck_complaints")
    return tuple(items)


def refusal(
    flow: Flow,
    move_name: str,
    facts: CaseFacts,
    *,
    actor_id: int | None,
    actor_role: str,
    reason: str = "",
) -> Refusal | None:
    """None when the actor may make the move now; otherwise the reason it is refused."""
    move = flow.move(move_name)
    if move is None:
        return Refusal(400, f"“{flow.label}”没有“{move_name}”这一步。", "move")
    if actor_role not in move.roles:
        return Refusal(403, f"您的角色不能办理“{move.label}”。")
    if facts.state not in move.sources:
        state = flow.states.get(facts.state, facts.state)
        return Refusal(409, f"案件当前为“{state}”，不能办理“{move.label}”，请刷新页面。")
    if move.second_person and (actor_id is None or actor_id == facts.submitter_id):
        return Refusal(403, "提交人不能审核或审批本人提交的案件。")
    if move.needs_reason and not reason.strip():
        return Refusal(400, f"“{move.label}”必须填写理由。", "reason")
    missing = [EVIDENCE_KINDS[k] for k in move.evidence if k not in facts.evidence]
    if missing:
        return Refusal(400, f"“{move.label}”须先上传：{'、'.join(missing)}。", "evidence")
    unticked = [CHECKLIST[k] for k in required_checklist(move, facts) if k not in facts.checklist]
    if unticked:
        return Refusal(400, f"核查清单尚未完成：{'、'.join(unticked)}。", "checklist")
    if move.posting_ended:
        if facts.posting_objected:
            return Refusal(400, "公示期间有异议，须重新核查。", "posting")
        if not facts.posting_ended:
            return Refusal(400, "公示期尚未结束，不能办理下一步。", "posting")
    if move.assessment and not facts.assessment_ok:
        return Refusal(
            400,
            facts.assessment_note or "该户本年度的脱贫标准判定未全部通过，不能批准退出。",
            "assessment",
        )
    return None


def allowed_moves(flow: Flow, state: str, role: str) -> list[Move]:
    """The moves a role may attempt in a state (buttons on the case page, the inbox's to-do)."""
    return [m for m in flow.moves_from(state) if role in m.roles]


def waiting_roles(flow: Flow, state: str) -> set[str]:
    """Roles that can move a case on from this state (forward moves only)."""
    return {r for m in flow.moves_from(state) if m.sort == FORWARD for r in m.roles}


def states_of(kinds: Iterable[str] | None = None) -> list[tuple[str, str, str]]:
    """(kind, state, label) rows in table order."""
    return [
        (kind, state, label)
        for kind, flow in FLOWS.items()
        if kinds is None or kind in kinds
        for state, label in flow.states.items()
    ]
