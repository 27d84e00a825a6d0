"""The battle map's money figures of the project bank and the ledger (issue 23 item 6).

Like `assistance.board` (ADR 0064) the figures are computed when shown, each as a condition
over one queryset: the number is an aggregate of the condition and the list behind it
(`figure_rows`) is the same condition's rows, so the two agree. Everything is restricted to
the reader's projects (`scope.project_filter`) in the region shown; fund figures only for
roles that read the ledger (county, township, auditor).

Figure keys:
- `funds:allocated:<source kind>` / `funds:disbursed:<source kind>`: money of that kind of
  source allocated to / paid out of projects, net of reversals (postings; a reversal counts
  negative). `funds:allocated:all` / `funds:disbursed:all` over every kind.
- `projects:<state>:<kind>` (either may be `all`): projects in that lifecycle state and kind.
- `benefit:<project id>`: the households benefiting from the project (联农带农), and
  `benefit:all`: households benefiting from any project of the region.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import BigIntegerField, Case, Count, F, Q, QuerySet, Sum, When

from jingzhun.access.scoping import scope_by_household
from jingzhun.core.errors import OutOfScope
from jingzhun.regions import codes

from . import lifecycle
from .choices import PROJECT_KINDS, SOURCE_KINDS
from .models import BenefitLink, Posting, Project
from .scope import project_filter, sees_ledger

STAGES = {"allocated": "已下达", "disbursed": "已支付"}
TOP_PROJECTS = 20
UNKNOWN = "没有这一指标。"


def region_q(region: str, *, prefix: str = "") -> Q:
    """Projects of the region: the county's, a township's or a village's."""
    level = codes.level_of(region)
    column = {"county": "county_code", "township": "township_code", "village": "village_code"}
    if level not in column:
        raise OutOfScope("未找到该区划，或您无权访问。")
    return Q(**{f"{prefix}{column[level]}": region})


def projects_in(user: Any, region: str) -> QuerySet[Project]:
    return Project.objects.filter(project_filter(user), region_q(region))


def _stage_q(stage: str, kind: str) -> Q:
    """Postings behind a fund figure: the stage's postings and the reversals of them."""
    if stage == "allocated":
        forward, back = Q(kind="allocation"), Q(kind="reversal", reverses__kind="allocation")
        if kind != "all":
            forward &= Q(debit__source__kind=kind)
            back &= Q(credit__source__kind=kind)
    elif stage == "disbursed":
        forward, back = Q(kind="disbursement"), Q(kind="reversal", reverses__kind="disbursement")
        if kind != "all":
            forward &= Q(credit__source__kind=kind)
            back &= Q(debit__source__kind=kind)
    else:
        raise OutOfScope(UNKNOWN)
    return forward | back


SIGNED = Case(
    When(kind="reversal", then=-F("amount_fen")),
    default=F("amount_fen"),
    output_field=BigIntegerField(),
)


def postings_in(user: Any, region: str) -> QuerySet[Posting]:
    if not sees_ledger(user):
        return Posting.objects.none()
    return Posting.objects.filter(
        project_filter(user, prefix="project__"), region_q(region, prefix="project__")
    )


@dataclass(frozen=True)
class FundRow:
    kind: str
    label: str
    allocated_fen: int
    disbursed_fen: int

    @property
    def rate(self) -> float | None:
        """Disbursement rate in percent (paid / allocated), None when nothing was allocated."""
        return 100 * self.disbursed_fen / self.allocated_fen if self.allocated_fen else None


@dataclass(frozen=True)
class BenefitRow:
    project: Project
    households: int
    amount_fen: int


@dataclass
class MoneyBoard:
    region: str
    ledger: bool  # the reader sees fund figures
    funds: list[FundRow] = field(default_factory=list)
    allocated_fen: int = 0
    disbursed_fen: int = 0
    states: list[tuple[str, str]] = field(default_factory=list)
    kinds: list[tuple[str, str]] = field(default_factory=list)
    projects: dict[str, dict[str, int]] = field(default_factory=dict)  # state -> kind -> n
    project_total: int = 0
    benefits: list[BenefitRow] = field(default_factory=list)
    benefit_projects: int = 0
    benefit_households: int = 0

    @property
    def rate(self) -> float | None:
        """Disbursement rate in percent (paid / allocated), None when nothing was allocated."""
        return 100 * self.disbursed_fen / self.allocated_fen if self.allocated_fen else None


def money_board(user: Any, region: str) -> MoneyBoard:
    """The money figures of a region for this reader (a fixed number of queries)."""
    board = MoneyBoard(region=region, ledger=sees_ledger(user))
    if board.ledger:
        names: dict[str, Any] = {}
        for kind in SOURCE_KINDS:
            for stage in STAGES:
                names[f"{stage}_{kind}"] = Sum(SIGNED, filter=_stage_q(stage, kind))
        sums = postings_in(user, region).order_by().aggregate(**names)
        for kind, label in SOURCE_KINDS.items():
            row = FundRow(
                kind,
                label,
                int(sums[f"allocated_{kind}"] or 0),
                int(sums[f"disbursed_{kind}"] or 0),
            )
            if row.allocated_fen or row.disbursed_fen:
                board.funds.append(row)
        board.allocated_fen = sum(r.allocated_fen for r in board.funds)
        board.disbursed_fen = sum(r.disbursed_fen for r in board.funds)
    counts = (
        projects_in(user, region).order_by().values_list("state", "kind").annotate(n=Count("pk"))
    )
    table: dict[str, dict[str, int]] = {}
    used_kinds: set[str] = set()
    for state, kind, n in counts:
        table.setdefault(state, {})[kind] = n
        used_kinds.add(kind)
    board.states = [(s, label) for s, label in lifecycle.STATES.items() if s in table]
    board.kinds = [(k, label) for k, label in PROJECT_KINDS.items() if k in used_kinds]
    for by_kind in table.values():
        by_kind["all"] = sum(by_kind.values())
    board.projects = table
    board.project_total = sum(row["all"] for row in table.values())
    links = benefit_links(user, region)
    per_project = list(
        links.order_by()
        .values("project")
        .annotate(h=Count("household", distinct=True), s=Sum("amount_fen"))
        .order_by("-h", "project")
    )
    board.benefit_projects = len(per_project)
    board.benefit_households = links.order_by().aggregate(h=Count("household", distinct=True))["h"]
    top = per_project[:TOP_PROJECTS]
    shown = Project.objects.in_bulk([r["project"] for r in top])
    board.benefits = [BenefitRow(shown[r["project"]], r["h"], int(r["s"] or 0)) for r in top]
    return board


def benefit_links(user: Any, region: str) -> QuerySet[BenefitLink]:
    """Benefit links of the region's projects of the reader, to households the reader sees."""
    qs = BenefitLink.objects.filter(
        project_filter(user, prefix="project__"), region_q(region, prefix="project__")
    )
    return scope_by_household(user, qs)


def figure_label(figure: str) -> str:
    parts = figure.split(":")
    if parts[0] == "funds" and len(parts) == 3 and parts[1] in STAGES:
        kind = "全部资金" if parts[2] == "all" else SOURCE_KINDS.get(parts[2], "")
        if kind:
            return f"{kind}{STAGES[parts[1]]}"
    if parts[0] == "projects" and len(parts) == 3:
        state = "全部状态" if parts[1] == "all" else lifecycle.STATES.get(parts[1], "")
        kind = "全部类型" if parts[2] == "all" else PROJECT_KINDS.get(parts[2], "")
        if state and kind:
            return f"项目（{state}，{kind}）"
    if parts[0] == "benefit" and len(parts) == 2:
        if parts[1] == "all":
            return "联农带农受益农户"
        if parts[1].isdigit():
            return "项目联农带农受益农户"
    raise OutOfScope(UNKNOWN)


def figure_rows(user: Any, region: str, figure: str) -> QuerySet[Any]:
    """The rows behind a figure: postings (funds), projects, or benefit links."""
    figure_label(figure)
    parts = figure.split(":")
    if parts[0] == "funds":
        if not sees_ledger(user):
            raise OutOfScope(UNKNOWN)
        return (
            postings_in(user, region)
            .filter(_stage_q(parts[1], parts[2]))
            .select_related("project", "debit__source", "credit__source")
            .annotate(signed_fen=SIGNED)
            .order_by("on_date", "pk")
        )
    if parts[0] == "projects":
        qs = projects_in(user, region)
        if parts[1] != "all":
            qs = qs.filter(state=parts[1])
        if parts[2] != "all":
            qs = qs.filter(kind=parts[2])
        return qs.select_related("region").order_by("-year", "pk")
    links = benefit_links(user, region)
    if parts[1] != "all":
        links = links.filter(project_id=int(parts[1]))
    return links.select_related("project", "household").order_by(
        "project", "household__household_code", "kind"
    )


def figure_value(user: Any, region: str, figure: str) -> int:
    """What the board shows for a figure, recomputed from its rows (the tests' reconciliation)."""
    rows = figure_rows(user, region, figure)
    if figure.startswith("funds:"):
        return int(rows.aggregate(s=Sum("signed_fen"))["s"] or 0)
    if figure.startswith("benefit:"):
        return rows.order_by().aggregate(h=Count("household", distinct=True))["h"]
    return rows.count()
