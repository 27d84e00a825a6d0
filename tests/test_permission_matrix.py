"""The permission matrix (issue 5 item 1, AUTHZ-1..4, AUTH-3): every URL pattern and API route,
walked from Django's resolver (routes added later are picked up; a route whose URL arguments this
test cannot fill fails loudly), requested as anonymous, right-region, wrong-region, village,
helper, auditor, liaison, verification team, and the three administrators (with a password-only
session and with the second factor passed), by GET and POST (and PATCH, PUT, DELETE on the API).

Asserted for every request: no server error; anonymous is sent to the login page (web) or gets
401 (API); an administrator without the second factor is sent to the 2FA page (web) or gets 403
(API); an administrator never reaches registry pages or the API (403); an out-of-scope household
is 404 (or refused before it is looked up) and its name never appears; read-only roles get no
2xx answer to a write; an accepted write comes only from staff of the household's region; and no
refused request changes any row of any model, except audit events (whose
new rows, on a refusal, are all refusals), sessions, login counters and 2FA enrolment devices.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import VILLAGES, World, pass_second_factor
from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

POLICY_ATTR = "jingzhun_policy"
PUBLIC_ROUTES = {"login/", "logout/", "i18n/setlang/", "api/openapi.json", "api/docs"}
# Rows that requests may add: the audit trail itself, sessions, login counters, 2FA enrolment.
VOLATILE = {
    "audit.auditevent",
    "audit.auditchainhead",
    "sessions.session",
    "access.loginattempt",
    "feeds.reportattempt",  # the self-report page's rate-limit counter (like login attempts)
    "otp_totp.totpdevice",
}
# Routes whose POST is a read (search, export, the notice PDF) or ends the session.
READ_POSTS = {
    "households/",
    "households/<int:household_id>/export/",
    "exports/roster/",
    "exports/facts/",
    "exports/notice/",
    "api/households/search",
    "logout/",
    "i18n/setlang/",
    "account/2fa/",
    "account/2fa/setup/",
    "account/password/",
}
READ_ONLY = {"auditor", "helper", "liaison", "verifier", "workteam"}
ADMINS = {"sysadmin", "secadmin", "auditadmin"}
SECRET_NAME = "张三"  # head of the household of village 230231100201 (the matrix's household)


@dataclass(frozen=True)
class Route:
    path: str  # the pattern, e.g. "households/<int:household_id>/"
    policy: str | None

    @property
    def is_api(self) -> bool:
        return self.path.startswith("api/")


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def all_routes() -> list[Route]:
    seen: dict[str, Route] = {}
    for path, pattern in _walk(get_resolver().url_patterns):
        seen.setdefault(path, Route(path, getattr(pattern.callback, POLICY_ATTR, None)))
    return list(seen.values())


ARG = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


def fill(path: str, values: dict[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in values:
            pytest.fail(f"the permission matrix cannot fill <{name}> in route {path!r}: add it")
        return str(values[name])

    return "/" + ARG.sub(one, path)


def counts() -> dict[str, int]:
    """Row counts of every model's table, in one query (the walk makes thousands of requests)."""
    models = [m for m in apps.get_models() if not m._meta.proxy and m._meta.managed]
    qn = connection.ops.quote_name
    sql = " UNION ALL ".join(
        f"SELECT {i}, COUNT(*) FROM {qn(m._meta.db_table)}" for i, m in enumerate(models)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = dict(cursor.fetchall())
    return {m._meta.label_lower: rows[i] for i, m in enumerate(models)}


def audit_tail(since_id: int) -> list[tuple[str, str]]:
    from jingzhun.audit.models import AuditEvent

    return list(AuditEvent.objects.filter(id__gt=since_id).values_list("event", "outcome"))


def last_audit_id() -> int:
    from jingzhun.audit.models import AuditEvent

    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.fixture
def matrix(admins: World) -> dict[str, Any]:
    """URL arguments from fixture objects, and a client per subject."""
    from jingzhun.imports.models import ImportBatch, ImportJob

    household = admins.households[VILLAGES["230231100000"][0]]
    member = household.members.order_by("id").first()
    batch = ImportBatch.objects.create(
        sha256="0" * 64,
        filename="upload.xlsx",
        user=admins.user("village"),
        user_name="village",
        status="pending",
    )
    job = ImportJob.objects.create(
        kind="check", filename="upload.xlsx", sha256="0" * 64, user=admins.user("village")
    )
    from jingzhun.exports.models import ExportJob

    export = ExportJob.objects.create(user=admins.user("village"))
    values = {
        "import_job_id": job.pk,
        "export_job_id": export.pk,
        "household_id": household.pk,
        "member_id": member.pk,
        "batch_id": batch.pk,
        "user_id": admins.user("township").pk,
        "code": "230231100000",
        "year": 2019,  # an income year of the household (its record made below)
        "request_id": _unmasked_request(admins),
        "pairing_id": _pairing(admins),
        "team_member_id": _team_member(admins),
        "visit_id": _visit(admins, household),
        "measure_id": _measure(admins, household),
        **_feed_values(admins, household),
        "measure_evidence_id": _measure_evidence(admins),
        **_workflow_and_dashboard_values(admins, household),
        **_inspection_values(admins, household),
        **_project_values(admins),
        **_scoring_values(admins),
        **_governance_values(admins, household),
        **_selfcheck_values(admins),
        **_credit_values(admins, household),
        **_asset_values(admins),
        **_points_values(admins, household),
    }
    clients: dict[str, Client] = {"anonymous": Client()}
    for name, user in admins.users.items():
        client = Client()
        client.force_login(user)
        if name in ADMINS:
            clients[f"{name}:password-only"] = client
            client = Client()
            client.force_login(user)
        pass_second_factor(client, user)
        clients[name] = client
    return {"values": values, "clients": clients}


def _feed_values(admins: World, household: Any) -> dict[str, Any]:
    """A department feed (the liaison's), one loaded batch and a red-line alert on the matrix's
    household (issue 22)."""
    from jingzhun.feeds.actions import do_set_feed_liaison, do_sync_feed_sources
    from jingzhun.feeds.models import Alert, FeedBatch

    county = admins.user("county")
    do_sync_feed_sources(actor=county)
    source = do_set_feed_liaison("vehicles", "liaison", actor=county)
    batch = FeedBatch.objects.create(
        source=source, batch_key="k", origin="upload", status="done", created_by=county
    )
    alert = Alert.objects.create(
        household=household,
        rule="vehicle",
        title="家庭成员名下有车辆",
        kind="red_line",
        source="vehicles",
        status="open",
        raised_on=timezone.localdate(),
        policy="test",
    )
    from jingzhun.feeds.models import LinkReview

    review = LinkReview.objects.create(
        source=source,
        fingerprint="f" * 64,
        member=household.members.first(),
        household=household,
        probability=0.9,
    )
    from jingzhun.feeds.models import Clue

    clue = Clue.objects.create(
        route="self_report",
        village_id=household.village_id,
        township_code=household.township_code,
        county_code=household.county_code,
        name=SECRET_NAME,
        id_index="0" * 64,
        id_masked="2302**********0013",
        difficulty="因病住院花费大",
        household=household,
        status="unconfirmed",
        received_on=timezone.localdate(),
    )
    return {
        "source_code": "vehicles",
        "source": "vehicles",
        "feed_batch_id": batch.pk,
        "alert_id": alert.pk,
        "link_review_id": review.pk,
        "clue_id": clue.pk,
    }


def _project_values(admins: World) -> dict[str, Any]:
    """A fund source and a project of the matrix's village in the annual plan, with its plan
    posting (issue 23 items 1-2)."""
    from jingzhun.projects.actions import (
        do_create_project,
        do_move_project,
        do_post_project,
        do_set_project_funding,
    )
    from jingzhun.projects.ledger import do_create_fund_source

    county = admins.user("county")
    source = do_create_fund_source("230231000000", 2026, "central", "矩阵测试资金", actor=county)
    project = do_create_project(
        "230231100201", "矩阵测试项目", "industry", 2026, 100_000, targets="目标",
        benefit_mechanism="务工", actor=admins.user("village"),
    )  # fmt: skip
    project = do_move_project(
        project.pk, "review", expected_version=1, actor=admins.user("township")
    )
    project = do_set_project_funding(project.pk, source.pk, 100_000, actor=county)
    for move in ("admit", "plan"):
        project = do_move_project(project.pk, move, expected_version=project.version, actor=county)
    posting = do_post_project(project.pk, "plan", timezone.localdate(), actor=county)
    return {
        "project_id": project.pk,
        "posting_id": posting.pk,
        "fmt": "pdf",
        "source_id": source.pk,
    }


def _scoring_values(admins: World) -> dict[str, Any]:
    """A computed (unpublished) township assessment of the county (issue 24 item 4)."""
    from jingzhun.scoring.actions import do_request_scoring, run_pending
    from jingzhun.scoring.models import UnitScore

    job = do_request_scoring(
        county_code="230231000000",
        scheme_id="township_assessment",
        period="2026Q3",
        actor=admins.user("county"),
    )
    run_pending()
    score = UnitScore.objects.filter(job_id=job.pk).order_by("pk").first()
    assert score is not None
    return {
        "score_period_id": job.period_id,
        "unit_score_id": score.pk,
        "scheme_id": "township_assessment",
    }


def _asset_values(admins: World) -> dict[str, Any]:
    """An asset of the matrix's village with income and a draft plan (issue 23 item 4)."""
    from jingzhun.assets.actions import do_create_plan, do_record_asset_income, do_register_asset

    village = admins.user("village")
    asset = do_register_asset(
        "230231100201", "矩阵测试光伏", "solar", "operating", 100_000, actor=village
    )
    do_record_asset_income(
        asset.pk, timezone.localdate(), 100_000, "矩阵-1", "matrix-asset-income", actor=village
    )
    plan = do_create_plan(
        asset.pk, timezone.localdate().year, "矩阵测试方案", {"public_job": 80_000}, actor=village
    )
    return {"asset_id": asset.pk, "plan_id": plan.pk}


def _points_values(admins: World, household: Any) -> dict[str, Any]:
    """A points shop of the matrix's village and points recorded for the matrix's household
    (issue 23 item 5)."""
    from jingzhun.points.actions import do_create_shop, do_earn_points

    shop = do_create_shop("230231100201", "矩阵测试爱心超市", actor=admins.user("township"))
    entry = do_earn_points(
        household.pk,
        "volunteer",
        timezone.localdate(),
        key="matrix-points",
        actor=admins.user("county"),
    )
    return {"shop_id": shop.pk, "entry_id": entry.pk}


def _team_member(admins: World) -> int:
    """A work team of the matrix's village with the work-team member's account as its first
    secretary (issue 21 item 1)."""
    from jingzhun.assistance.teams import do_create_work_team, do_post_team_member

    county = admins.user("county")
    team = do_create_work_team(
        "230231100201",
        "县委组织部",
        datetime.date(2024, 1, 1),
        datetime.date(2026, 1, 1),
        actor=county,
    )
    member = do_post_team_member(
        team.pk,
        name="",
        sending_unit="县委组织部",
        role="secretary",
        start_date=datetime.date(2024, 1, 1),
        term_end=datetime.date(2026, 1, 1),
        user_id=admins.user("workteam").pk,
        actor=county,
    )
    return member.pk


def _pairing(admins: World) -> int:
    """The helper's pairing with the matrix's household (the world's fixture pairing)."""
    from jingzhun.access.models import HelperPairing

    return HelperPairing.objects.get(helper=admins.user("helper")).pk


def _visit(admins: World, household: Any) -> int:
    """A visit of the helper to the matrix's household, with a change (it could open a case)."""
    import uuid

    from jingzhun.assistance.visits import VisitInput, do_record_visit

    return do_record_visit(
        VisitInput(
            client_id=str(uuid.uuid4()),
            household_id=household.pk,
            visited_on=timezone.localdate(),
            kind="home",
            household_version=household.version,
            changes=[{"kind": "illness"}],
        ),
        actor=admins.user("helper"),
    ).pk


def _measure(admins: World, household: Any) -> int:
    """A measure proposed by the village for the matrix's household (issue 21 item 3)."""
    import datetime

    from jingzhun.assistance.measures import do_propose_measure

    measure = do_propose_measure(
        household.pk, "industry", datetime.date(2025, 3, 1), actor=admins.user("village")
    )
    return measure.pk


def _measure_evidence(admins: World) -> int:
    """A PDF kept for the matrix's measure (its download route)."""
    from jingzhun.assistance.measures import do_attach_measure_evidence
    from jingzhun.assistance.models import Measure

    measure = Measure.objects.order_by("pk").last()
    assert measure is not None
    item = do_attach_measure_evidence(
        measure.pk, "协议.pdf", b"%PDF-1.4 matrix", actor=admins.user("village")
    )
    return item.pk


def _inspection_values(admins: World, household: Any) -> dict[str, int]:
    """An inspection of the county with a problem on the matrix's household, rectified with one
    evidence file (issue 24 item 2)."""
    from jingzhun.inspection.actions import (
        do_record_inspection,
        do_record_problem,
        do_submit_rectification,
    )

    county = admins.user("county")
    inspection = do_record_inspection(
        kind="routine",
        title="矩阵测试督查",
        region_code="230231000000",
        organiser="县督查组",
        started_on=datetime.date(2026, 11, 2),
        actor=county,
    )
    problem = do_record_problem(
        inspection.pk,
        category="assistance",
        description="矩阵测试问题",
        region_code=household.village_id,
        household_id=household.pk,
        responsible_unit="第一镇",
        responsible_person="刘某",
        found_on=datetime.date(2026, 11, 2),
        deadline=datetime.date(2030, 12, 31),
        actor=county,
    )
    rectification = do_submit_rectification(
        problem.pk, "已整改", [("整改.pdf", b"%PDF-1.4 matrix")], actor=admins.user("village")
    )
    return {
        "inspection_id": inspection.pk,
        "problem_id": problem.pk,
        "rectification_evidence_id": rectification.evidence.get().pk,
    }


def _governance_values(admins: World, household: Any) -> dict[str, int]:
    """A command unit, a responsibility item, a task of the matrix's village and a ticket on the
    matrix's household (issue 24 items 1, 3)."""
    from jingzhun.duty.actions import do_assign_task, do_save_command_unit, do_save_responsibility
    from jingzhun.tickets.actions import Intake, do_create_ticket

    county = admins.user("county")
    unit = do_save_command_unit(
        "230231000000", {"kind": "squad", "name": "矩阵测试专班", "leader_name": "某"}, actor=county
    )
    item = do_save_responsibility(
        "230231000000", {"level": "county", "department": "县局", "item": "矩阵测试"}, actor=county
    )
    task = do_assign_task(
        region_code=household.village_id, title="矩阵测试任务", owner_unit="第一镇",
        owner_person="刘某", schedule="weekly", deadline=datetime.date(2030, 12, 31), actor=county,
    )  # fmt: skip
    ticket = do_create_ticket(
        Intake(channel="secretary", category="policy", requester_name=SECRET_NAME,
               content="矩阵测试诉求", received_on=timezone.localdate(),
               household_id=household.pk),
        actor=admins.user("village"),
    )  # fmt: skip
    return {
        "command_unit_id": unit.pk,
        "responsibility_id": item.pk,
        "task_id": task.pk,
        "ticket_id": ticket.pk,
    }


def _selfcheck_values(admins: World) -> dict[str, int]:
    """A self-check of the county with its sample drawn (issue 24 item 6)."""
    from jingzhun.selfcheck.actions import do_create_selfcheck, run_job
    from jingzhun.selfcheck.models import DrawJob, SampledHousehold

    item = do_create_selfcheck("230231000000", 2019, seed=1, actor=admins.user("county"))
    run_job(DrawJob.objects.get(selfcheck=item).pk)
    row = SampledHousehold.objects.filter(
        selfcheck=item, village__code=VILLAGES["230231100000"][0]
    ).first()
    assert row is not None
    return {"selfcheck_id": item.pk, "sampled_id": row.pk}


def _credit_values(admins: World, household: Any) -> dict[str, int]:
    """A microcredit loan of the matrix's household and a bank statement import (issue 23 item 3)."""
    from jingzhun.credit.actions import LoanTerms, do_create_loan, do_deposit_risk_fund
    from jingzhun.credit.models import StatementImport

    county = admins.user("county")
    do_deposit_risk_fund(
        "230231000000", 100_000_00, timezone.localdate(), key="matrix", actor=county
    )
    borrower = household.members.get(relation="head")
    terms = LoanTerms(
        "县农商银行", "JD-MATRIX", 10_000_00, 300, 12, datetime.date(2026, 3, 1), "A", "planting"
    )
    loan = do_create_loan(household.pk, borrower.pk, terms, actor=county)
    job = StatementImport.objects.create(
        county_code="230231000000", bank_name="县农商银行", filename="s.csv", sha256="0" * 64
    )
    return {"loan_id": loan.pk, "statement_id": job.pk}


def _unmasked_request(admins: World) -> int:
    """A pending unmasked-export request of the township user, whom the county user may approve."""
    from jingzhun.access.actions import do_set_unmasked_export
    from jingzhun.exports.actions import do_request_unmasked_export

    for name in ("county", "township"):
        admins.users[name] = do_set_unmasked_export(admins.user(name), True, actor=None)
    request = do_request_unmasked_export(
        "roster", "矩阵测试申请", actor=admins.user("township"), region_code="230231100000"
    )
    return request.pk


def _workflow_and_dashboard_values(admins: World, household: Any) -> dict[str, int]:
    """A round, a case on the matrix's household with one piece of evidence, a refresh job."""
    import datetime

    from jingzhun.analytics.actions import request_refresh
    from jingzhun.registry.actions import do_record_income
    from jingzhun.workflows.actions import (
        CaseDetails,
        do_open_case,
        do_open_round,
        do_upload_evidence,
    )
    from jingzhun.workflows.transitions import EVIDENCE_KINDS

    county, village = admins.user("county"), admins.user("village")
    round_ = do_open_round(
        "230231000000",
        "矩阵测试批次",
        datetime.date(2026, 1, 1),
        datetime.date(2026, 12, 31),
        actor=county,
    )
    case = do_open_case(household.pk, "exit", CaseDetails(year=2019), actor=village)
    evidence = do_upload_evidence(
        case.pk, next(iter(EVIDENCE_KINDS)), "minutes.pdf", b"%PDF-1.4\n%%EOF\n", actor=village
    )
    job = request_refresh(["230231000000"], actor=county, reason="matrix")
    do_record_income(household.pk, 2019, {"wage_income": 5000}, actor=village)
    return {"round_id": round_.pk, "case_id": case.pk, "evidence_id": evidence.pk, "job_id": job.pk}


# Who may change something with an accepted request (fully signed in, in the region).
WRITERS = {"county", "township", "village"}

# Who sees the matrix's household (village 230231100201); everyone else must get 404 for it.
SEES_HOUSEHOLD = {"county", "township", "village", "helper", "auditor", "workteam"}


def _check(subject: str, route: Route, method: str, response: Any) -> None:
    status = response.status_code
    where = f"{subject} {method} /{route.path} → {status}"
    assert status < 500, where
    if status == 405:
        return  # the method is refused before anything else happens
    if route.path == "api/":
        assert status in {403, 404}, where  # django-ninja's root has no operation
        return
    location = response.get("Location", "")
    public = route.path in PUBLIC_ROUTES or route.policy == "public"
    if subject == "anonymous" and not public:
        if route.is_api:
            assert status == 401, where
        else:
            assert status == 302 and location.startswith("/login/"), where
        return
    if public:
        return
    base = subject.split(":")[0]
    if subject.endswith(":password-only") and not public and route.policy != "account":
        if route.is_api:
            assert status == 403, where
        else:
            assert status == 302 and location.startswith("/account/2fa/"), where
        return
    if base in ADMINS and (route.is_api or route.policy == "authenticated"):
        assert status == 403, where
        return
    if str(route.policy).startswith("admin:") and base not in route.policy.split(":")[1].split(","):
        assert status == 403, where
        return
    if (
        "<household_id>" in route.path
        or "<int:household_id>" in route.path
        or "<member_id>" in route.path
        or "case_id>" in route.path
        or "evidence_id>" in route.path
        or "pairing_id>" in route.path
        or "visit_id>" in route.path
        or "measure_id>" in route.path
        or "alert_id>" in route.path
        or "clue_id>" in route.path
        or "loan_id>" in route.path
    ) and base not in SEES_HOUSEHOLD:
        assert status in {400, 403, 404, 405, 422}, where
        assert SECRET_NAME not in response.content.decode(errors="replace"), where
    if base in READ_ONLY and method != "GET" and route.path not in READ_POSTS:
        assert not 200 <= status < 300, where


REFUSALS = {401, 403, 404, 405}


# Every route for every role is one long test (minutes); what it decides (which role may call
# which route, scoping by region) is the same on both databases, so CI runs it once.
@pytest.mark.single_database
def test_every_route_for_every_subject_changes_nothing(matrix: dict[str, Any]) -> None:
    routes = all_routes()
    # sanity: both the web pages and the API are walked, including routes added by this issue
    paths = {r.path for r in routes}
    assert {"households/", "api/households", "manage/users/", "audit/"} <= paths
    undeclared = [r.path for r in routes if not r.is_api and r.policy is None]
    assert undeclared == [], "every web view declares a policy (AUTHZ-1)"
    checked = 0
    for subject, client in matrix["clients"].items():
        for route in routes:
            url = fill(route.path, matrix["values"])
            methods = ["GET", "POST"] + (["PATCH", "PUT", "DELETE"] if route.is_api else [])
            for method in methods:
                if route.path == "logout/" and method == "POST":
                    continue  # would end the subject's session for the rest of the walk
                before, since = counts(), last_audit_id()
                response = client.generic(
                    method,
                    url,
                    data=b"",
                    content_type="application/json"
                    if route.is_api
                    else "application/x-www-form-urlencoded",
                )
                _check(subject, route, method, response)
                # a template comment spanning lines is shown as text (issue 19 item 7)
                if (
                    method == "GET"
                    and response.status_code == 200
                    and response.get("Content-Type", "").startswith("text/html")
                ):
                    assert b"{#" not in response.content, f"{subject} GET {url} shows {{#"
                after = counts()
                changed = {
                    k: (before[k], after[k])
                    for k in before
                    if before[k] != after[k] and k not in VOLATILE
                }
                where = f"{subject} {method} {url} → {response.status_code}"
                refused = response.status_code in REFUSALS or (
                    response.status_code == 302
                    and response["Location"].startswith(("/login/", "/account/2fa/"))
                )
                if refused or response.status_code >= 400:
                    assert changed == {}, f"{where} changed {changed}"
                else:
                    # an accepted write (e.g. running a case's assessment): only by staff of
                    # the household's region, never by a read-only role or an administrator
                    assert changed == {} or subject in WRITERS, f"{where} changed {changed}"
                if refused:
                    events = audit_tail(since)
                    assert all(outcome != "success" for _event, outcome in events), (
                        f"{where} audited {events}"
                    )
                checked += 1
    assert checked > 400
