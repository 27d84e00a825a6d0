"""Scoped reads of the project bank and the ledger (AGENTS.md rule 2), and the reconciliation.

Balances are read from the accounts (kept with each posting under the row lock): a balance per
source or project is a read of a handful of rows however many postings there are. The
reconciliation recomputes every balance from the postings and compares.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, QuerySet, Sum

from jingzhun.core.errors import OutOfScope

from . import lifecycle
from .models import Account, BenefitLink, FundSource, Posting, Project, ProjectPosting
from .scope import NOT_FOUND, check_county, counties_of, project_filter, sees_ledger


def projects_for(
    user: Any, *, state: str = "", kind: str = "", year: int | None = None, q: str = ""
) -> QuerySet[Project]:
    qs = Project.objects.filter(project_filter(user)).select_related("region")
    if state:
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    if year:
        qs = qs.filter(year=year)
    if q:
        qs = qs.filter(name__contains=q)
    return qs.order_by("-year", "pk")


def project_for(user: Any, project_id: int) -> Project:
    project = (
        Project.objects.filter(project_filter(user), pk=project_id).select_related("region").first()
    )
    if project is None:
        raise OutOfScope(NOT_FOUND)
    return project


@dataclass
class SourceLine:
    source: FundSource
    planned_fen: int = 0
    allocated_fen: int = 0  # net of reversals
    disbursed_fen: int = 0  # net of reversals
    balance_fen: int = 0  # allocated, not yet paid


@dataclass
class ProjectFunds:
    lines: list[SourceLine]
    planned_fen: int
    allocated_fen: int
    disbursed_fen: int
    balance_fen: int
    postings: list[Posting]


def _net_by(qs: QuerySet[Posting], kind: str, group: str) -> dict[Any, int]:
    """Sum of `kind` postings less the reversals of such postings, grouped by `group`."""
    out: dict[Any, int] = defaultdict(int)
    for row in qs.filter(kind=kind).values(group).annotate(s=Sum("amount_fen")):
        out[row[group]] += int(row["s"])
    for row in (
        qs.filter(kind="reversal", reverses__kind=kind).values(group).annotate(s=Sum("amount_fen"))
    ):
        out[row[group]] -= int(row["s"])
    return out


def project_funds(project: Project) -> ProjectFunds:
    """Per fund source: plan, net allocated, net paid and what is left on the project."""
    lines: dict[int, SourceLine] = {}
    for f in project.funding.select_related("source"):
        lines[f.source_id] = SourceLine(f.source, planned_fen=f.planned_fen)
    accounts = list(Account.objects.filter(project=project).select_related("source"))
    for a in accounts:
        line = lines.setdefault(a.source_id, SourceLine(a.source))  # type: ignore[arg-type]
        line.balance_fen = a.balance_fen
    postings = Posting.objects.filter(project=project)
    allocated = _net_by(postings, "allocation", "debit__source")
    paid = _net_by(postings, "disbursement", "credit__source")
    for sid, line in lines.items():
        line.allocated_fen = allocated.get(sid, 0)
        line.disbursed_fen = paid.get(sid, 0)
    shown = list(lines.values())
    return ProjectFunds(
        lines=shown,
        planned_fen=sum(x.planned_fen for x in shown),
        allocated_fen=sum(x.allocated_fen for x in shown),
        disbursed_fen=sum(x.disbursed_fen for x in shown),
        balance_fen=sum(x.balance_fen for x in shown),
        postings=list(postings.select_related("reversed_by").order_by("on_date", "pk")[:500]),
    )


def project_balance(project_id: int) -> int:
    """Money allocated to the project and not yet paid: the sum of its accounts' balances."""
    total = Account.objects.filter(project_id=project_id, kind="project").aggregate(
        s=Sum("balance_fen")
    )["s"]
    return int(total or 0)


def source_balance(source_id: int) -> tuple[int, int]:
    """(unallocated, allocated but unpaid) money of a fund source, from the account balances."""
    rows = dict(
        Account.objects.filter(source_id=source_id)
        .values_list("kind")
        .annotate(s=Sum("balance_fen"))
        .values_list("kind", "s")
    )
    return int(rows.get("source") or 0), int(rows.get("project") or 0)


def benefits_of(project: Project) -> list[BenefitLink]:
    return list(
        BenefitLink.objects.filter(project=project)
        .select_related("household")
        .order_by("year", "household__household_code", "kind")
    )


def benefit_summary(project: Project) -> dict[str, Any]:
    rows = BenefitLink.objects.filter(project=project)
    agg = rows.aggregate(h=Count("household", distinct=True), s=Sum("amount_fen"))
    groups = dict(
        rows.values_list("group")
        .annotate(n=Count("household", distinct=True))
        .values_list("group", "n")
    )
    return {"households": agg["h"] or 0, "amount_fen": int(agg["s"] or 0), "groups": groups}


def postings_of_project(project: Project) -> list[ProjectPosting]:
    return list(ProjectPosting.objects.filter(project=project).defer("pdf"))


def project_posting_for(user: Any, posting_id: int) -> ProjectPosting:
    posting = ProjectPosting.objects.filter(pk=posting_id).select_related("project").first()
    if (
        posting is None
        or not Project.objects.filter(project_filter(user), pk=posting.project_id).exists()
    ):
        raise OutOfScope("未找到该公告，或您无权访问。")
    return posting


def sources_for(user: Any, *, year: int | None = None) -> list[FundSource]:
    qs = FundSource.objects.filter(county_code__in=counties_of(user))
    if year:
        qs = qs.filter(year=year)
    return list(qs.order_by("-year", "kind", "pk"))


@dataclass
class SourceRow:
    source: FundSource
    received_fen: int = 0
    allocated_fen: int = 0
    disbursed_fen: int = 0
    unallocated_fen: int = 0
    unpaid_fen: int = 0


def source_rows(user: Any, county_code: str, *, year: int | None = None) -> list[SourceRow]:
    """The county's fund sources: received, allocated, paid (all net of reversals) and left."""
    check_county(user, county_code)
    sources = FundSource.objects.filter(county_code=county_code)
    if year:
        sources = sources.filter(year=year)
    rows = {s.pk: SourceRow(s) for s in sources.order_by("-year", "kind", "pk")}
    postings = Posting.objects.filter(county_code=county_code)
    received = _net_by(postings, "receipt", "debit__source")
    allocated = _net_by(postings, "allocation", "credit__source")
    paid = _net_by(postings, "disbursement", "credit__source")
    for a in Account.objects.filter(county_code=county_code, source_id__in=list(rows)):
        row = rows[a.source_id]
        if a.kind == "source":
            row.unallocated_fen += a.balance_fen
        else:
            row.unpaid_fen += a.balance_fen
    for sid, row in rows.items():
        row.received_fen = received.get(sid, 0)
        row.allocated_fen = allocated.get(sid, 0)
        row.disbursed_fen = paid.get(sid, 0)
    return list(rows.values())


@dataclass
class Reconciliation:
    county_code: str
    accounts: int
    postings: int
    total_balance_fen: int  # 0 when every posting has its two sides
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    sources: list[SourceRow] = field(default_factory=list)
    projects: list[dict[str, Any]] = field(default_factory=list)
    unreversed_pairs: int = 0

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.total_balance_fen == 0


def reconciliation(user: Any, county_code: str) -> Reconciliation:
    """Each account's stored balance against its postings (debits − credits), the county's
    balances summing to zero, and per source and project what came in, went out and is left."""
    check_county(user, county_code)
    postings = Posting.objects.filter(county_code=county_code)
    debits = dict(
        postings.values_list("debit").annotate(s=Sum("amount_fen")).values_list("debit", "s")
    )
    credits = dict(
        postings.values_list("credit").annotate(s=Sum("amount_fen")).values_list("credit", "s")
    )
    accounts = list(
        Account.objects.filter(county_code=county_code).select_related("source", "project")
    )
    mismatches = []
    for a in accounts:
        computed = int(debits.get(a.pk) or 0) - int(credits.get(a.pk) or 0)
        if computed != a.balance_fen:
            mismatches.append({"account": a, "stored_fen": a.balance_fen, "computed_fen": computed})
    projects = []
    for p in Project.objects.filter(county_code=county_code, accounts__isnull=False).distinct():
        funds = project_funds(p)
        projects.append({"project": p, "funds": funds})
    return Reconciliation(
        county_code=county_code,
        accounts=len(accounts),
        postings=postings.count(),
        total_balance_fen=sum(a.balance_fen for a in accounts),
        mismatches=mismatches,
        sources=source_rows(user, county_code),
        projects=projects,
    )


def postings_for(user: Any, county_code: str, *, kind: str = "", limit: int = 200) -> list[Posting]:
    check_county(user, county_code)
    qs = Posting.objects.filter(county_code=county_code)
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.select_related("project", "debit", "credit").order_by("-pk")[:limit])


def may_read_ledger(user: Any) -> bool:
    return sees_ledger(user)


def state_counts(user: Any) -> dict[str, int]:
    rows = Project.objects.filter(project_filter(user)).values_list("state").annotate(n=Count("pk"))
    counts = dict(rows.values_list("state", "n"))
    return {s: counts.get(s, 0) for s in lifecycle.STATES}
