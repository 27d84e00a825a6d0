"""The project lifecycle as a transition table (issue 23 item 1), like `workflows.transitions`.

Pure Python (no Django): the actions look a move up here, ask `refusal(...)` whether the actor
may make it on the project as it stands (read under the row lock), and only then write.

proposal (村申报) → township review (乡审核) → county decision: into the bank (县审定入库) →
annual plan (年度计划) → approval (批复, after the plan posting of at least 10 days) →
implementation → acceptance (验收) → performance review (绩效评价, after the result posting) →
asset handover (资产移交). A reviewer may send a project back to the proposal; a proposal may be
refused; the county may take a project out of the bank at its yearly adjustment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

STATES: Final = {
    "proposed": "村级申报",
    "reviewed": "乡镇审核通过",
    "in_bank": "已入项目库",
    "planned": "已纳入年度计划",
    "approved": "已批复",
    "implementing": "实施中",
    "accepted": "已验收",
    "evaluated": "已绩效评价",
    "handed_over": "资产已移交",
    "rejected": "未予入库",
    "withdrawn": "已调出项目库",
}
INITIAL: Final = "proposed"
DONE: Final = "handed_over"
TERMINAL: Final = frozenset({"handed_over", "rejected", "withdrawn"})
# States in which money may be allocated to the project, and paid out of it.
ALLOCATABLE: Final = frozenset({"planned", "approved", "implementing", "accepted"})
PAYABLE: Final = frozenset({"approved", "implementing", "accepted"})

FORWARD, BACK, END = "forward", "back", "end"
TOWNSHIP_OR_COUNTY = frozenset({"township", "county"})
COUNTY = frozenset({"county"})


@dataclass(frozen=True)
class Move:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    roles: frozenset[str]
    second_person: bool = False  # not by the person who proposed the project
    needs_reason: bool = False
    needs_plan: bool = False  # targets, benefit mechanism and funding plan = budget
    plan_posting_ended: bool = False  # a plan posting whose period is over
    result_posting: bool = False  # a result posting was put up
    benefits: bool = False  # at least one household benefit link
    sort: str = FORWARD


MOVES: Final = (
    Move(
        "review", "乡镇审核通过", ("proposed",), "reviewed", TOWNSHIP_OR_COUNTY, second_person=True
    ),
    Move(
        "admit",
        "县级审定入库",
        ("reviewed",),
        "in_bank",
        COUNTY,
        second_person=True,
        needs_plan=True,
    ),
    Move("plan", "纳入年度计划", ("in_bank",), "planned", COUNTY, needs_plan=True),
    Move(
        "approve",
        "批复实施",
        ("planned",),
        "approved",
        COUNTY,
        second_person=True,
        plan_posting_ended=True,
    ),
    Move("start", "开工实施", ("approved",), "implementing", TOWNSHIP_OR_COUNTY),
    Move("accept", "竣工验收", ("implementing",), "accepted", COUNTY, second_person=True),
    Move(
        "evaluate",
        "绩效评价",
        ("accepted",),
        "evaluated",
        COUNTY,
        result_posting=True,
        benefits=True,
    ),
    Move("hand_over", "资产移交", ("evaluated",), "handed_over", COUNTY),
    Move(
        "send_back",
        "退回重新申报",
        ("reviewed", "in_bank", "planned"),
        "proposed",
        TOWNSHIP_OR_COUNTY,
        needs_reason=True,
        sort=BACK,
    ),
    Move(
        "reject",
        "不予入库",
        ("proposed", "reviewed"),
        "rejected",
        TOWNSHIP_OR_COUNTY,
        needs_reason=True,
        sort=END,
    ),
    Move(
        "withdraw",
        "调出项目库",
        ("in_bank", "planned"),
        "withdrawn",
        COUNTY,
        needs_reason=True,
        sort=END,
    ),
)
_BY_NAME: Final = {m.name: m for m in MOVES}


@dataclass(frozen=True)
class ProjectFacts:
    """What the guard needs to know about a project as it stands (read under the row lock)."""

    state: str
    proposer_id: int | None
    has_targets: bool = False
    has_mechanism: bool = False
    budget_fen: int = 0
    planned_fen: int = 0  # the funding plan's sum over sources
    plan_posting_ended: bool = False
    result_posted: bool = False
    benefit_links: int = 0
    allocated_unspent_fen: int = 0  # money still on the project's accounts


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    field: str | None = None


def move(name: str) -> Move | None:
    return _BY_NAME.get(name)


def refusal(
    name: str, facts: ProjectFacts, *, actor_id: int | None, actor_role: str, reason: str = ""
) -> Refusal | None:
    """None when the actor may make the move now; otherwise why not (HTTP status, sentence)."""
    m = move(name)
    if m is None:
        return Refusal(400, f"项目流程没有“{name}”这一步。", "move")
    if actor_role not in m.roles:
        return Refusal(403, f"您的角色不能办理“{m.label}”。")
    if facts.state not in m.sources:
        state = STATES.get(facts.state, facts.state)
        return Refusal(409, f"项目当前为“{state}”，不能办理“{m.label}”，请刷新页面。")
    if m.second_person and (actor_id is None or actor_id == facts.proposer_id):
        return Refusal(403, f"申报人不能办理本人申报项目的“{m.label}”。")
    if m.needs_reason and not reason.strip():
        return Refusal(400, f"“{m.label}”必须填写理由。", "reason")
    if m.needs_plan:
        if not facts.has_targets:
            return Refusal(400, "入库项目须填写绩效目标。", "targets")
        if not facts.has_mechanism:
            return Refusal(400, "入库项目须填写联农带农机制。", "benefit_mechanism")
        if facts.budget_fen <= 0:
            return Refusal(400, "入库项目须填写投资预算。", "budget")
        if facts.planned_fen != facts.budget_fen:
            return Refusal(
                400,
                "各资金来源的计划金额之和须等于项目预算（现为 "
                f"{facts.planned_fen / 100:,.2f} 元，预算 {facts.budget_fen / 100:,.2f} 元）。",
                "funding",
            )
    if m.plan_posting_ended and not facts.plan_posting_ended:
        return Refusal(400, "项目计划公告尚未发布或公示期（不少于 10 天）尚未结束。", "posting")
    if m.result_posting and not facts.result_posted:
        return Refusal(400, "须先发布项目实施结果公告。", "posting")
    if m.benefits and facts.benefit_links == 0:
        return Refusal(400, "须先登记联农带农的受益农户。", "benefits")
    if m.sort == END and facts.allocated_unspent_fen:
        left = facts.allocated_unspent_fen / 100
        return Refusal(
            400,
            f"项目账上还有已下达未支付的资金 {left:,.2f} 元，须先冲正下达，才能办理“{m.label}”。",
            "funds",
        )
    return None


def allowed_moves(state: str, role: str) -> list[Move]:
    return [m for m in MOVES if state in m.sources and role in m.roles]


def required_path() -> list[str]:
    """The forward moves from the initial state to DONE, in order."""
    path, state = [], INITIAL
    while state != DONE:
        m = next(m for m in MOVES if m.sort == FORWARD and state in m.sources)
        path.append(m.name)
        state = m.target
    return path
