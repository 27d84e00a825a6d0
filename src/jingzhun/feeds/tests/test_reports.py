"""Self-report (public page) and hotline 12317 clues (issue 22 item 4): a case in the right
village's queue, deduplicated against the household's open case, a clue for an unknown number,
the captcha and the rate limit, no oracle of who is registered, scoping of the queue."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from conftest import VILLAGES, World, make_id, signed_in
from django.test import Client, override_settings

from jingzhun.audit.models import AuditEvent
from jingzhun.feeds import reports
from jingzhun.feeds.models import Clue, ReportAttempt
from jingzhun.workflows.models import Case

from .conftest import head_id

V1 = VILLAGES["230231100000"][0]  # 张三's village (township 100)
V2 = VILLAGES["230231100000"][1]  # 李四's village (township 100)
V3 = VILLAGES["230231101000"][0]  # 王五's village (township 101)
CAPTCHA_KEY = "self_report_captcha"  # web.captcha.SESSION_KEY (domain tests import no web code)
STRANGER = make_id("230231", "19851212", 77)  # in nobody's household


def report(**changes: str) -> dict[str, str]:
    data = {
        "name": "张三",
        "id_number": head_id(1),
        "phone": "13900001111",
        "village": V1,
        "difficulty": "因病住院花费八万元，家里收入骤减",
    }
    data.update(changes)
    return data


def solved(client: Client) -> str:
    """The answer of the client's current captcha (from its server-side session)."""
    return str(client.session[CAPTCHA_KEY]["answer"])


def post_report(client: Client, data: dict[str, str], *, answer: str | None = None) -> Any:
    client.get("/report/")  # a fresh captcha
    return client.post("/report/", {**data, "captcha": answer or solved(client)})


def without_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


# --- the public page -----------------------------------------------------------------------------


def test_a_residents_own_report_opens_a_case_in_the_households_village(world: World) -> None:
    client = Client(REMOTE_ADDR="10.0.0.1")
    page = client.get("/report/")
    assert page.status_code == 200 and "农户自主申报" in page.content.decode()
    image = client.get("/report/captcha.png")
    assert image["Content-Type"] == "image/png" and image.content.startswith(b"\x89PNG")
    assert image["Cache-Control"] == "no-store"
    # the household names another village of the county by mistake: the case is still its own
    done = client.post("/report/", {**report(village=V3), "captcha": solved(client)})
    assert done.status_code == 200 and "申报已收到" in done.content.decode()
    clue = Clue.objects.get()
    case = Case.objects.get(kind="monitoring")
    assert (clue.status, clue.case_id, clue.village_id) == ("case_opened", case.pk, V1)
    assert case.household_id == world.households[V1].pk
    assert (case.route, case.submitted_by_id, case.state) == ("self_report", None, "reported")
    assert case.due_on == case.opened_on + datetime.timedelta(days=15)
    assert case.steps.get().actor_name == "农户自主申报"
    # the number is kept only as the blind index and masked; the audit holds the masked form
    assert head_id(1) not in str(Clue.objects.values().get())
    event = AuditEvent.objects.get(event="feeds.clue.self_report")
    assert event.diff["id_number"] == clue.id_masked and head_id(1) not in str(event.diff)
    assert ReportAttempt.objects.filter(accepted=True).count() == 1


def test_a_second_report_joins_the_open_case_instead_of_opening_another(world: World) -> None:
    client = Client(REMOTE_ADDR="10.0.0.2")
    post_report(client, report())
    post_report(client, report(difficulty="又因灾损失了玉米，请尽快核实"))
    county = world.user("county")
    reports.do_record_hotline_call(
        reports.Report("张三", head_id(1), "13900001111", V1, "12317 来电：看病花费大"),
        actor=county,
    )
    assert Case.objects.filter(kind="monitoring").count() == 1
    case = Case.objects.get(kind="monitoring")
    assert [c.status for c in Clue.objects.order_by("pk")] == ["case_opened", "joined", "joined"]
    assert {c.case_id for c in Clue.objects.all()} == {case.pk}


def test_an_unknown_number_is_a_clue_for_the_named_village_and_answers_the_same(
    world: World,
) -> None:
    known = post_report(Client(REMOTE_ADDR="10.0.0.3"), report())
    unknown = post_report(
        Client(REMOTE_ADDR="10.0.0.4"), report(name="孙七", id_number=STRANGER, village=V2)
    )
    mismatch = post_report(Client(REMOTE_ADDR="10.0.0.5"), report(name="冒名", village=V1))
    # no oracle: the three answers are the same page
    assert known.status_code == unknown.status_code == mismatch.status_code == 200
    assert (
        without_tokens(known.content.decode())
        == without_tokens(unknown.content.decode())
        == without_tokens(mismatch.content.decode())
    )
    clues = {c.name: c for c in Clue.objects.all()}
    assert (clues["孙七"].status, clues["孙七"].village_id, clues["孙七"].household_id) == (
        "unregistered",
        V2,
        None,
    )
    # a resident's number with another name opens nothing by itself: the village checks it
    assert (clues["冒名"].status, clues["冒名"].case_id) == ("unconfirmed", None)
    assert Case.objects.filter(kind="monitoring").count() == 1


def test_bad_input_names_the_field_and_writes_nothing(world: World) -> None:
    client = Client(REMOTE_ADDR="10.0.0.6")
    wrong = post_report(client, report(id_number=head_id(1)[:17] + "0"))
    assert wrong.status_code == 400 and "身份证号码有误" in wrong.content.decode()
    phone = post_report(client, report(phone="12345"))
    assert phone.status_code == 400
    assert Clue.objects.count() == 0 and Case.objects.count() == 0
    assert not AuditEvent.objects.filter(event__startswith="feeds.clue").exists()


def test_a_wrong_or_reused_captcha_is_refused(world: World) -> None:
    client = Client(REMOTE_ADDR="10.0.0.7")
    client.get("/report/")
    answer = solved(client)
    wrong = client.post("/report/", {**report(), "captcha": "WRONG"})
    assert wrong.status_code == 400 and "验证码不正确" in wrong.content.decode()
    # the picture the wrong answer was given for is used up, so its right answer fails too
    reused = client.post("/report/", {**report(), "captcha": answer})
    assert reused.status_code == 400
    assert Clue.objects.count() == 0
    # the new picture's answer, typed in lower case with spaces, is accepted
    typed = " ".join(solved(client).lower())
    ok = client.post("/report/", {**report(), "captcha": typed})
    assert ok.status_code == 200 and Clue.objects.count() == 1


@override_settings(SELF_REPORT_LIMITS={"per_hour": 2, "per_day": 3, "captcha_seconds": 600})
def test_the_rate_limit_counts_every_submission_per_address(world: World) -> None:
    client = Client(REMOTE_ADDR="10.0.0.8")
    assert post_report(client, report(), answer="WRONG").status_code == 400  # counts too
    assert post_report(client, report()).status_code == 200
    limited = post_report(client, report(difficulty="第三次提交，应被限流拒绝"))
    assert limited.status_code == 429 and "提交过于频繁" in limited.content.decode()
    assert Clue.objects.count() == 1
    # another address is not held up
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert post_report(other, report(name="孙七", id_number=STRANGER)).status_code == 200
    # the address is kept only as a keyed hash
    assert not ReportAttempt.objects.filter(client_key__contains="10.0.0").exists()


# --- hotline and the village queue -----------------------------------------------------------------


def test_a_hotline_call_opens_a_case_submitted_by_the_clerk(world: World) -> None:
    township = signed_in(Client(), world.user("township"))
    page = township.get("/clues/")
    assert page.status_code == 200 and "登记 12317 热线来电" in page.content.decode()
    response = township.post(
        "/clues/hotline/",
        {**report(name="李四", id_number=head_id(2), village=V2), "call_ref": "12317-0042"},
    )
    assert response.status_code == 302
    clue = Clue.objects.get()
    case = Case.objects.get(kind="monitoring")
    assert (clue.route, clue.received_by, clue.call_ref) == (
        "hotline",
        world.user("township"),
        "12317-0042",
    )
    assert (case.route, case.submitted_by, case.household_id) == (
        "hotline",
        world.user("township"),
        world.households[V2].pk,
    )
    # a village cadre does not take calls; a township clerk only for its own villages
    village = signed_in(Client(), world.user("village"))
    assert village.post("/clues/hotline/", report()).status_code == 403
    with pytest.raises(reports.OutOfScope):
        reports.do_record_hotline_call(
            reports.Report("孙七", STRANGER, "13900001111", V3, "热线来电：家里遭灾"),
            actor=world.user("township"),
        )
    assert Clue.objects.count() == 1


def test_a_village_cadre_sees_only_the_own_villages_queue(world: World) -> None:
    for i, (name, number, village) in enumerate(
        [("孙七", STRANGER, V1), ("周九", make_id("230231", "19860101", 79), V2)]
    ):
        post_report(
            Client(REMOTE_ADDR=f"10.0.1.{i}"), report(name=name, id_number=number, village=village)
        )
    post_report(
        Client(REMOTE_ADDR="10.0.1.9"),
        report(name="吴十", id_number=make_id("230231", "19870101", 81), village=V3),
    )
    seen = {
        who: {c.name for c in reports.clues_for(world.user(who))}
        for who in ("village", "township", "other_township", "county", "helper")
    }
    assert seen == {
        "village": {"孙七"},
        "township": {"孙七", "周九"},
        "other_township": {"吴十"},
        "county": {"孙七", "周九", "吴十"},
        "helper": set(),
    }
    page = signed_in(Client(), world.user("village")).get("/clues/").content.decode()
    assert "孙七" in page and "周九" not in page and STRANGER not in page
    # the village closes its clue; another township cannot reach it
    mine = Clue.objects.get(name="孙七")
    other = signed_in(Client(), world.user("other_township"))
    assert other.post(f"/clues/{mine.pk}/close/", {"version": mine.version}).status_code == 404
    village = signed_in(Client(), world.user("village"))
    village.post(
        f"/clues/{mine.pk}/close/", {"version": mine.version, "note": "入户核实，已登记为一般农户"}
    )
    mine.refresh_from_db()
    assert (mine.status, mine.closed_by) == ("closed", world.user("village"))
    assert AuditEvent.objects.filter(event="feeds.clue.close", object_id=str(mine.pk)).exists()


def test_only_a_self_reported_case_may_lack_a_submitter(world: World) -> None:
    from django.db import IntegrityError, transaction

    from jingzhun.core.errors import DomainError
    from jingzhun.workflows.actions import CaseDetails, open_self_reported_case

    household = world.households[V1]
    details = CaseDetails(
        route="department_warning", monitoring_category="sudden_hardship", risk_types=("other",)
    )
    with pytest.raises(DomainError):
        open_self_reported_case(household.pk, details)
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.create(
            kind="monitoring",
            state="reported",
            household=household,
            year=2026,
            opened_on=datetime.date(2026, 12, 1),
            route="department_warning",
            submitted_by=None,
        )
    assert Case.objects.count() == 0
