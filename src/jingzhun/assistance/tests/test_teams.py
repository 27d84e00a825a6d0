"""Village work teams (issue 21 item 1, 7, 8): composition, term and attendance rules from
policies/tables/work_team_rules.yaml, check-ins, rotation, scope; every refusal writes nothing."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from conftest import World
from django.utils import timezone

from jingzhun.assistance.models import TeamCheckIn, TeamMember, WorkTeam
from jingzhun.assistance.team_selectors import Month, team_overview, village_team
from jingzhun.assistance.teams import (
    do_check_in,
    do_create_work_team,
    do_post_team_member,
    do_rotate_team_member,
    team_rules,
)
from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion

from .conftest import END, START, V1, V2, V3, member_account


def rows() -> dict[str, Any]:
    return {
        "teams": list(WorkTeam.all_objects.order_by("pk").values()),
        "members": list(TeamMember.all_objects.order_by("pk").values()),
        "check_ins": list(TeamCheckIn.objects.order_by("pk").values()),
        "events": AuditEvent.objects.count(),
    }


def refused(exc_type: type[Exception], call: Any, field: str | None = None) -> DomainError:
    before = rows()
    with pytest.raises(exc_type) as info:
        call()
    assert rows() == before, "a refusal writes nothing"
    err = info.value
    assert isinstance(err, DomainError)
    if field is not None:
        assert err.field == field, err.message
    return err


def secretary(team: WorkTeam) -> TeamMember:
    return TeamMember.objects.get(team=team, role="secretary", ended_on__isnull=True)


def test_rules_come_from_the_policy_file() -> None:
    rules = team_rules(datetime.date(2024, 1, 1))
    assert (rules.min_members.value, rules.min_term_years.value) == (3, 2)
    assert rules.min_days_per_month.value == 20
    assert rules.min_days_per_month.source_label == "unsourced"  # an assumed local rule
    assert rules.path.endswith("work_team_rules.yaml")


def test_create_team_and_post_members_are_audited(world: World, team: WorkTeam) -> None:
    assert team.village_id == V1
    assert team.members.count() == 3
    assert secretary(team).name == "队员team1"  # the account's display name
    events = list(AuditEvent.objects.values_list("event", flat=True))
    assert events.count("assistance.team.create") == 1
    assert events.count("assistance.team.member.post") == 3
    assert team.version == 4  # three postings moved the team's version


def test_one_live_team_per_village(world: World, team: WorkTeam) -> None:
    err = refused(
        DomainError,
        lambda: do_create_work_team(V1, "县财政局", START, END, actor=world.user("county")),
        "village",
    )
    assert "已有在任的驻村工作队" in err.message


def test_term_ending_before_it_starts_is_refused(world: World) -> None:
    err = refused(
        DomainError,
        lambda: do_create_work_team(V2, "县财政局", END, START, actor=world.user("township")),
        "term_end",
    )
    assert "任期结束日期" in err.message and "晚于任期开始日期" in err.message


def test_term_shorter_than_the_rule_names_the_rule(world: World) -> None:
    err = refused(
        DomainError,
        lambda: do_create_work_team(
            V2, "县财政局", START, datetime.date(2025, 12, 31), actor=world.user("township")
        ),
        "term_end",
    )
    assert "不足 2 年" in err.message
    assert "work_team_rules" in err.message and "work_team_rules.yaml" in err.message
    # exactly two years passes
    do_create_work_team(
        V2, "县财政局", START, datetime.date(2026, 1, 1), actor=world.user("township")
    )


def test_member_term_rule(world: World, team: WorkTeam) -> None:
    err = refused(
        DomainError,
        lambda: do_post_team_member(
            team.pk,
            name="短期",
            sending_unit="县委组织部",
            role="member",
            start_date=START,
            term_end=datetime.date(2024, 6, 1),
            actor=world.user("township"),
        ),
        "term_end",
    )
    assert "不足 2 年" in err.message


def test_out_of_scope_village_is_refused(world: World) -> None:
    # the township user of township 100 posts to village 101201: not their village
    err = refused(
        OutOfScope,
        lambda: do_create_work_team(V3, "县财政局", START, END, actor=world.user("township")),
        "village",
    )
    assert "村" in err.message and "管辖范围" in err.message


def test_only_county_and_township_set_up_teams(world: World, team: WorkTeam) -> None:
    for role in ("village", "auditor", "helper"):
        refused(
            Forbidden,
            lambda role=role: do_create_work_team(
                V2, "县财政局", START, END, actor=world.user(role)
            ),
        )
    refused(
        Forbidden,
        lambda: do_post_team_member(
            team.pk,
            name="某人",
            sending_unit="县委组织部",
            role="member",
            start_date=START,
            term_end=END,
            actor=world.user("team1"),
        ),
    )


def test_one_first_secretary_per_village(world: World, team: WorkTeam) -> None:
    err = refused(
        DomainError,
        lambda: do_post_team_member(
            team.pk,
            name="第二书记",
            sending_unit="县委组织部",
            role="secretary",
            start_date=START,
            term_end=END,
            actor=world.user("county"),
        ),
        "role",
    )
    assert "第一书记" in err.message


def test_member_account_must_be_a_work_team_account_granted_the_village(
    world: World, team: WorkTeam
) -> None:
    other = member_account(world, "team2", V2)
    for user_id in (world.user("village").pk, other.pk):
        refused(
            DomainError,
            lambda user_id=user_id: do_post_team_member(
                team.pk,
                name="",
                sending_unit="县委组织部",
                role="member",
                start_date=START,
                term_end=END,
                user_id=user_id,
                actor=world.user("county"),
            ),
            "user",
        )


def test_stale_team_version_is_refused(world: World, team: WorkTeam) -> None:
    refused(
        StaleVersion,
        lambda: do_post_team_member(
            team.pk,
            name="某人",
            sending_unit="县委组织部",
            role="member",
            start_date=START,
            term_end=END,
            expected_version=team.version - 1,
            actor=world.user("county"),
        ),
    )


def test_check_in_by_the_member_once_a_day(world: World, team: WorkTeam) -> None:
    me = world.user("team1")
    day = timezone.localdate()
    made = do_check_in(secretary(team).pk, day, "入户走访", actor=me)
    assert (made.day, made.note, made.recorded_by_id) == (day, "入户走访", me.pk)
    err = refused(DomainError, lambda: do_check_in(secretary(team).pk, day, actor=me), "day")
    assert "已经打过卡" in err.message
    assert AuditEvent.objects.filter(event="assistance.team.check_in").count() == 1


def test_check_in_in_the_future_is_refused(world: World, team: WorkTeam) -> None:
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    err = refused(
        DomainError,
        lambda: do_check_in(secretary(team).pk, tomorrow, actor=world.user("team1")),
        "day",
    )
    assert "晚于今天" in err.message and "日期" in err.message


def test_check_in_outside_the_term_is_refused(world: World, team: WorkTeam) -> None:
    err = refused(
        DomainError,
        lambda: do_check_in(
            secretary(team).pk, datetime.date(2023, 12, 31), actor=world.user("team1")
        ),
        "day",
    )
    assert "任期开始日期" in err.message


def test_check_in_for_someone_else(world: World, team: WorkTeam) -> None:
    leader = TeamMember.objects.get(team=team, role="leader")
    day = datetime.date(2024, 2, 5)
    # a member cannot check in another; the auditor reads only; village staff may record it
    refused(Forbidden, lambda: do_check_in(leader.pk, day, actor=world.user("team1")))
    refused(Forbidden, lambda: do_check_in(leader.pk, day, actor=world.user("auditor")))
    refused(OutOfScope, lambda: do_check_in(leader.pk, day, actor=world.user("other_township")))
    do_check_in(leader.pk, day, actor=world.user("village"))
    assert TeamCheckIn.objects.filter(member=leader).count() == 1


def test_rotation_keeps_the_history_and_posts_the_successor(world: World, team: WorkTeam) -> None:
    old = secretary(team)
    end = datetime.date(2024, 7, 1)
    ended = do_rotate_team_member(
        old.pk,
        end_date=end,
        handover_note="移交：产业台账、在建项目 2 个。",
        expected_version=old.version,
        successor_name="周书记",
        successor_unit="县财政局",
        successor_term_end=datetime.date(2026, 7, 1),
        actor=world.user("township"),
    )
    assert ended.ended_on == end and ended.handover_note.startswith("移交")
    new = secretary(team)
    assert (new.name, new.start_date, new.sending_unit) == ("周书记", end, "县财政局")
    assert ended.successor_id == new.pk
    data = village_team(world.user("county"), V1)
    assert [m.name for m in data.history] == ["队员team1"]
    assert data.secretary is not None and data.secretary.name == "周书记"
    # a second rotation of the same (now ended, version moved) row is refused
    refused(
        StaleVersion,
        lambda: do_rotate_team_member(
            old.pk,
            end_date=end,
            handover_note="再次",
            expected_version=old.version,
            actor=world.user("township"),
        ),
    )


def test_rotation_needs_a_handover_note(world: World, team: WorkTeam) -> None:
    old = secretary(team)
    refused(
        DomainError,
        lambda: do_rotate_team_member(
            old.pk,
            end_date=datetime.date(2024, 7, 1),
            handover_note="  ",
            expected_version=old.version,
            actor=world.user("township"),
        ),
        "handover_note",
    )


def test_village_page_data_warns_about_composition_and_attendance(
    world: World, team: WorkTeam
) -> None:
    leader = TeamMember.objects.get(team=team, role="leader")
    for day in range(1, 22):  # 21 days in January 2024 for the leader, 2 for the secretary
        do_check_in(leader.pk, datetime.date(2024, 1, day), actor=world.user("village"))
    for day in (3, 4):
        do_check_in(secretary(team).pk, datetime.date(2024, 1, day), actor=world.user("team1"))
    data = village_team(world.user("township"), V1, Month(2024, 1))
    days = {r.member.role: (r.days, r.below) for r in data.serving}
    assert days == {"leader": (21, False), "secretary": (2, True), "member": (0, True)}
    assert any("队员team1 2024-01 在村 2 天" in w for w in data.warnings)
    overview = team_overview(world.user("county"), Month(2024, 1))
    by_code = {r.village.code: r for r in overview.rows}
    assert by_code[V1].below_attendance == ["队员team1", "陈队员"]
    assert by_code[V1].days == 23
    assert [r.village.code for r in overview.without_team] == [V2, V3, "230231101202"]
    assert overview.below_minimum == []
    # a rotation without a successor leaves 2: below the minimum of 3
    old = secretary(team)
    do_rotate_team_member(
        old.pk,
        end_date=datetime.date(2024, 2, 1),
        handover_note="调回原单位",
        expected_version=old.version,
        actor=world.user("township"),
    )
    overview = team_overview(world.user("county"), Month(2024, 1))
    assert [r.village.code for r in overview.below_minimum] == [V1]
    assert [r.village.code for r in overview.without_secretary] == [V1]
    data = village_team(world.user("township"), V1, Month(2024, 1))
    assert any("少于规则要求的 3 人" in w for w in data.warnings)


def test_scope_of_reads(world: World, team: WorkTeam) -> None:
    # the work-team member sees their village only; the other township nothing of township 100
    assert [r.village.code for r in team_overview(world.user("team1")).rows] == [V1]
    with pytest.raises(OutOfScope):
        village_team(world.user("team1"), V2)
    with pytest.raises(OutOfScope):
        village_team(world.user("other_township"), V1)
    assert team_overview(world.user("helper")).rows == []


def test_work_team_member_reads_their_village_households_only(world: World, team: WorkTeam) -> None:
    from jingzhun.registry.actions import check_can_write
    from jingzhun.registry.selectors import households_for

    seen = {h.village_id for h in households_for(world.user("team1"))}
    assert seen == {V1}
    with pytest.raises(Forbidden):
        check_can_write(world.user("team1"))
