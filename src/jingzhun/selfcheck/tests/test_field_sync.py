"""The self-check survey on the offline field page (issue 24 item 6; ADR "fieldsurvey-offline"):
the download (scoped, masked as on the web), the batch sync endpoint (client ids: a replay writes
nothing), conflicts (entered on the web meanwhile, the survey closed) and bad input named in
Chinese, each item whole or not at all, every write through the selfcheck actions and audited."""

from __future__ import annotations

import json
import uuid
from typing import Any

from conftest import TOWNSHIPS, signed_in

from jingzhun.audit.models import AuditEvent
from jingzhun.selfcheck.actions import do_close_selfcheck, do_save_survey
from jingzhun.selfcheck.models import SampledHousehold, SelfCheck, SurveySync
from jingzhun.selfcheck.tests.test_selfcheck import DAY, drawn  # noqa: F401 - fixture

URL = "/visits/surveys/sync/"


def survey(row: SampledHousehold, **answers: Any) -> dict[str, Any]:
    return {
        "client_id": str(uuid.uuid4()),
        "sampled_id": row.pk,
        "version": row.version,
        "surveyed_on": DAY.isoformat(),
        "team": "第二核查组",
        "answers": {"approves": "1", "food_clothing_secure": "1", "income_per_capita_yuan": "6200"}
        | answers,
    }


def send(client: Any, items: list[dict[str, Any]]) -> Any:
    return client.post(URL, json.dumps({"surveys": items}), content_type="application/json")


def mine(item: SelfCheck, group: str = "exited") -> SampledHousehold:
    row = (
        SampledHousehold.objects.filter(
            selfcheck=item, group=group, village__code__startswith=TOWNSHIPS[0][:9]
        )
        .order_by("pk")
        .first()
    )
    assert row is not None
    return row


def theirs(item: SelfCheck) -> SampledHousehold:
    row = (
        SampledHousehold.objects.filter(selfcheck=item, village__code__startswith=TOWNSHIPS[1][:9])
        .order_by("pk")
        .first()
    )
    assert row is not None
    return row


def test_the_field_page_carries_only_the_surveyors_own_sample(
    client: Any,
    world: Any,
    drawn: SelfCheck,  # noqa: F811 - the fixture imported above
) -> None:
    signed_in(client, world.user("township"))
    page = client.get("/visits/")
    assert page.status_code == 200
    text = page.content.decode()
    data = json.loads(text.split('id="survey-data" type="application/json">')[1].split("<")[0])
    ids = {h["id"] for h in data["households"]}
    own = set(
        SampledHousehold.objects.filter(
            selfcheck=drawn, village__code__startswith=TOWNSHIPS[0][:9]
        ).values_list("pk", flat=True)
    )
    assert ids == own and theirs(drawn).pk not in ids
    # as on the web form: code, head's name, village, group, persons; no ID number
    row = mine(drawn)
    assert row.household.household_code in text and row.household.head_name in text
    assert all(m.id_number not in text for m in row.household.members.all())
    assert set(data["households"][0]) == {
        "id", "selfcheck", "village", "code", "head", "group", "group_label", "persons",
        "version", "surveyed",
    }  # fmt: skip
    # a helper still gets the visits page; the village cadre neither
    signed_in(client, world.user("helper"))
    assert 'id="visit-form"' in client.get("/visits/").content.decode()
    signed_in(client, world.user("village"))
    assert client.get("/visits/").status_code == 403


def test_sync_stores_once_and_a_replay_writes_nothing(
    client: Any,
    world: Any,
    drawn: SelfCheck,  # noqa: F811 - the fixture imported above
) -> None:
    signed_in(client, world.user("township"))
    row = mine(drawn)
    item = survey(row, wrongly_exited_persons="1", complaint="低保没有按时发")
    answer = send(client, [item])
    assert answer.status_code == 200
    [outcome] = answer.json()["outcomes"]
    assert outcome["status"] == "stored" and outcome["sampled_id"] == row.pk
    row.refresh_from_db()
    assert row.surveyed_on == DAY and row.team == "第二核查组"
    assert row.wrongly_exited_persons == 1 and row.approves is True
    assert row.income_per_capita_fen == 620000 and row.food_clothing_secure is True
    assert row.surveyed_by == world.user("township") and row.version == outcome["version"]
    events = AuditEvent.objects.filter(event__startswith="selfcheck.survey.")
    assert sorted(events.values_list("event", flat=True)) == [
        "selfcheck.survey.save",
        "selfcheck.survey.sync",
    ]
    # the same queue sent again (a lost answer, a second tap): nothing written
    version, count = row.version, AuditEvent.objects.count()
    again = send(client, [item, item]).json()["outcomes"]
    assert [o["status"] for o in again] == ["duplicate", "duplicate"]
    row.refresh_from_db()
    assert row.version == version and AuditEvent.objects.count() == count
    assert SurveySync.objects.count() == 1
    # another surveyor's replay of that client id is refused, not taken as theirs
    signed_in(client, world.user("county"))
    [other] = send(client, [item]).json()["outcomes"]
    assert other["status"] == "refused" and "已被使用" in other["message"]


def test_scope_another_regions_household_is_refused(
    client: Any,
    world: Any,
    drawn: SelfCheck,  # noqa: F811 - the fixture imported above
) -> None:
    signed_in(client, world.user("township"))
    outside = theirs(drawn)
    before = outside.version
    [outcome] = send(client, [survey(outside)]).json()["outcomes"]
    assert outcome["status"] == "refused"
    assert outcome["message"] == "未找到该抽样户，或该户不在您负责核查的范围内。"
    outside.refresh_from_db()
    assert outside.version == before and outside.surveyed_on is None
    assert not SurveySync.objects.exists()
    # roles outside the survey teams: 403, nothing read or written
    for name in ("helper", "village", "auditor"):
        signed_in(client, world.user(name))
        refused = send(client, [survey(mine(drawn))])
        assert refused.status_code == 403 and "核查组" in refused.json()["error"]
    assert not SurveySync.objects.exists()


def test_conflicts_web_entry_meanwhile_and_closed_survey(
    client: Any,
    world: Any,
    drawn: SelfCheck,  # noqa: F811 - the fixture imported above
) -> None:
    township = world.user("township")
    signed_in(client, township)
    row = mine(drawn)
    offline = survey(row, approves="0")
    # meanwhile the county office enters the same household's survey on the web
    do_save_survey(
        row.pk,
        version=row.version,
        surveyed_on=DAY,
        team="县第一核查组",
        answers={"approves": True},
        actor=world.user("county"),
    )
    row.refresh_from_db()
    [outcome] = send(client, [offline]).json()["outcomes"]
    assert outcome["status"] == "conflict" and outcome["version"] == row.version
    assert (
        "已有人录入或修改了入户调查" in outcome["message"] and "县第一核查组" in outcome["message"]
    )
    kept = row.version
    row.refresh_from_db()
    assert row.version == kept and row.approves is True and row.team == "县第一核查组"
    # "仍然提交": the same client id sent with the current version is stored (a correction)
    [resolved] = send(client, [offline | {"version": kept}]).json()["outcomes"]
    assert resolved["status"] == "stored"
    row.refresh_from_db()
    assert row.approves is False and row.team == "第二核查组"
    # the county office closes the survey: a queued survey comes back as a conflict
    later = survey(mine(drawn, "ordinary"))
    do_close_selfcheck(drawn.pk, actor=world.user("county"))
    [closed] = send(client, [later]).json()["outcomes"]
    assert closed["status"] == "conflict" and "结束调查" in closed["message"]
    assert "version" not in closed  # nothing to send again
    assert SampledHousehold.objects.get(pk=later["sampled_id"]).surveyed_on is None
    # the closed self-check is no longer downloaded
    text = client.get("/visits/").content.decode()
    assert "目前没有进行中的退出自查抽样户" in text


def test_bad_input_is_named_in_chinese_and_the_good_items_stand(
    client: Any,
    world: Any,
    drawn: SelfCheck,  # noqa: F811 - the fixture imported above
) -> None:
    signed_in(client, world.user("township"))
    exited, ordinary = mine(drawn), mine(drawn, "ordinary")
    good = survey(exited)
    bad = [
        survey(exited) | {"surveyed_on": "2026-13-01"},
        survey(exited) | {"surveyed_on": "2099-01-01"},
        survey(exited) | {"client_id": "not-a-uuid"},
        survey(exited, approves=""),
        survey(exited, approves="也许"),
        survey(ordinary, wrongly_exited_persons="1"),
        survey(ordinary, missed_persons="两"),
        survey(exited) | {"team": ""},
        survey(exited) | {"answers": None},
    ]
    outcomes = send(client, [*bad, good]).json()["outcomes"]
    assert [o["status"] for o in outcomes] == ["refused"] * len(bad) + ["stored"]
    messages = [o["message"] for o in outcomes[:-1]]
    assert "调查日期“2026-13-01”无效" in messages[0]
    assert "晚于今天" in messages[1]
    assert "客户端编号" in messages[2]
    assert "请填写是否认可帮扶和退出工作" in messages[3]
    assert "“是否认可帮扶和退出工作”的值“也许”无效" in messages[4]
    assert "只有已脱贫户可以认定为错退" in messages[5]
    assert "漏评人数“两”不是整数" in messages[6]
    assert "请填写核查组" in messages[7]
    assert "问卷答案" in messages[8]
    ordinary.refresh_from_db()
    assert ordinary.surveyed_on is None and ordinary.version == 1
    assert SurveySync.objects.count() == 1
    assert client.post(URL, "{broken", content_type="application/json").status_code == 400
    assert send(client, []).status_code == 400


def test_the_close_button_is_the_county_offices(
    client: Any,
    world: Any,
    drawn: SelfCheck,  # noqa: F811 - the fixture imported above
) -> None:
    signed_in(client, world.user("township"))
    assert client.post(f"/selfchecks/{drawn.pk}/close/").status_code == 403
    signed_in(client, world.user("county"))
    response = client.post(f"/selfchecks/{drawn.pk}/close/", follow=True)
    assert "已结束入户调查" in response.content.decode()
    drawn.refresh_from_db()
    assert drawn.closed and AuditEvent.objects.filter(event="selfcheck.selfcheck.close").exists()
    row = mine(drawn)
    page = client.post(
        f"/selfchecks/households/{row.pk}/",
        {"surveyed_on": DAY.isoformat(), "team": "组", "approves": "1", "version": row.version},
    )
    assert page.status_code == 400 and "结束调查" in page.content.decode()
