"""Village work teams (驻村工作队) and first secretaries (第一书记), issue 21 item 1.

Writes are actions (AGENTS.md rule 1): one transaction, role and scope checked, the write, one
audit event. County and township staff set up teams, post members and rotate them; a check-in
is written by the member's own account (role 驻村工作队员) or by staff of the village. The
composition, term and attendance rules are the policy table `work_team_rules`
(policies/tables/work_team_rules.yaml); a refusal names the rule and the file it comes from.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from jingzhun.access.models import User
from jingzhun.access.scoping import can_see_region
from jingzhun.audit.actions import record
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.core.models import action
from jingzhun.policy.store import PolicyError, default_store
from jingzhun.regions.models import Region

from .choices import TEAM_ROLES, TEAM_RULES_TABLE
from .models import TeamCheckIn, TeamMember, WorkTeam

# Who sets up teams, posts and rotates members: the county and township (the sending side).
TEAM_WRITERS = frozenset({"county", "township"})
# Who may record a check-in for a member (besides the member's own account).
CHECK_IN_WRITERS = frozenset({"county", "township", "village"})
MAX_UNITS = 200
MAX_UNIT = 100
MAX_NAME = 50
MAX_NOTE = 200
MAX_HANDOVER = 2000


@dataclass(frozen=True)
class TeamRule:
    value: int
    note: str
    source: str  # the source's title
    source_label: str  # press / unsourced / …


@dataclass(frozen=True)
class TeamRules:
    """The rules in effect on a day, with where they are written."""

    min_members: TeamRule
    min_term_years: TeamRule
    min_days_per_month: TeamRule
    path: str
    version: str
    file_hash: str

    def cite(self, rule: TeamRule) -> str:
        return (
            f"{rule.note.rstrip('。')}（策略表 {TEAM_RULES_TABLE}，文件 {self.path}，"
            f"版本 {self.version}，内容哈希 {self.file_hash[:12]}）"
        )


def team_rules(on: datetime.date | None = None) -> TeamRules:
    """The work-team rules of the file in effect on `on` (today by default)."""
    on = on or timezone.localdate()
    store = default_store()
    try:
        loaded = store.table_file(TEAM_RULES_TABLE, on)
    except PolicyError as exc:
        raise DomainError(f"{on} 没有生效的驻村工作队规则表（{TEAM_RULES_TABLE}）。") from exc

    def one(name: str) -> TeamRule:
        found = store.lookup(TEAM_RULES_TABLE, on=on, rule=name)
        if found is None or found.value is None:
            raise DomainError(f"驻村工作队规则表 {loaded.path} 缺少规则 {name}。")
        return TeamRule(
            value=int(found.value),
            note=found.row.note or name,
            source=found.source.title,
            source_label=found.source.label,
        )

    return TeamRules(
        min_members=one("min_members"),
        min_term_years=one("min_term_years"),
        min_days_per_month=one("min_days_per_month"),
        path=loaded.path,
        version=loaded.doc.version,
        file_hash=loaded.hash,
    )


def add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _check_term(
    start: datetime.date, end: datetime.date, *, start_field: str, end_field: str, what: str
) -> None:
    """The term ends after it starts and lasts at least the rule's years."""
    if end <= start:
        raise DomainError(
            f"{what}的任期结束日期（{end}）必须晚于任期开始日期（{start}）。", field=end_field
        )
    rules = team_rules(start)
    years = rules.min_term_years.value
    if end < add_years(start, years):
        raise DomainError(
            f"{what}的任期为 {start} 至 {end}，不足 {years} 年。规则：{rules.cite(rules.min_term_years)}。",
            field=end_field,
        )


def _check_team_writer(actor: Any) -> None:
    if getattr(actor, "role", None) not in TEAM_WRITERS or not actor.is_active:
        raise Forbidden("只有县级、乡镇业务人员可以组建驻村工作队、选派和轮换队员。")


def _village_in_scope(actor: Any, code: str) -> Region:
    village = Region.objects.filter(pk=code, level="village").first()
    if village is None or not can_see_region(actor, code):
        raise OutOfScope(f"村（字段“村”）{code} 不存在，或不在您的管辖范围内。", field="village")
    return village


def _text(value: str | None, *, limit: int, field: str, label: str, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise DomainError(f"{label}不能为空。", field=field)
    if len(text) > limit:
        raise DomainError(f"{label}不能超过 {limit} 个字。", field=field)
    return text


def _team_locked(actor: Any, team_id: int) -> WorkTeam:
    team = WorkTeam.objects.select_for_update().filter(pk=team_id).first()
    if team is None or not can_see_region(actor, team.village_id):
        raise OutOfScope("未找到该驻村工作队，或您无权访问。", field="team")
    if team.ended_on is not None:
        raise DomainError(f"驻村工作队已于 {team.ended_on} 撤队，不能再选派队员。", field="team")
    return team


@action
@transaction.atomic
def do_create_work_team(
    village_code: str,
    sending_units: str,
    term_start: datetime.date,
    term_end: datetime.date,
    *,
    actor: Any,
) -> WorkTeam:
    """Set up a village's work team for a term (one live team per village)."""
    _check_team_writer(actor)
    village = _village_in_scope(actor, village_code)
    units = _text(
        sending_units, limit=MAX_UNITS, field="sending_units", label="派出单位", required=True
    )
    _check_term(
        term_start, term_end, start_field="term_start", end_field="term_end", what="驻村工作队"
    )
    if WorkTeam.objects.select_for_update().filter(village=village, ended_on__isnull=True).exists():
        raise DomainError(
            f"村 {village.name}（{village.code}）已有在任的驻村工作队，不能重复组建。",
            field="village",
        )
    team = WorkTeam.objects.create(
        village=village, sending_units=units, term_start=term_start, term_end=term_end
    )
    record(
        "assistance.team.create",
        actor=actor,
        object_type="work_team",
        object_id=team.pk,
        diff={
            "village": [None, village.code],
            "sending_units": [None, units],
            "term_start": [None, term_start.isoformat()],
            "term_end": [None, term_end.isoformat()],
        },
    )
    return team


def _member_account(user_id: int | None, village_code: str) -> User | None:
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id).first()
    if user is None or user.role != "workteam":
        raise DomainError(
            "账号（字段“账号”）不存在或角色不是“驻村工作队员”；队员可以不填账号，"
            "需要打卡的队员请先由安全管理员创建该角色的账号。",
            field="user",
        )
    if not user.is_active:
        raise DomainError(f"账号 {user.username} 已停用。", field="user")
    if not can_see_region(user, village_code):
        raise DomainError(
            f"账号 {user.username} 的授权区域不含村 {village_code}（字段“账号”），"
            "请先由安全管理员授予该村。",
            field="user",
        )
    return user


def _post(
    team: WorkTeam,
    *,
    name: str,
    sending_unit: str,
    role: str,
    start_date: datetime.date,
    term_end: datetime.date,
    user_id: int | None,
    actor: Any,
) -> TeamMember:
    """Post one member to a locked team (shared by posting and rotation)."""
    if role not in TEAM_ROLES:
        raise DomainError(
            f"队内职务“{role}”无效，应为：{'、'.join(TEAM_ROLES.values())}。", field="role"
        )
    user = _member_account(user_id, team.village_id)
    name = _text(
        name or (user.display_name or user.username if user else ""),
        limit=MAX_NAME,
        field="name",
        label="姓名",
        required=True,
    )
    unit = _text(
        sending_unit, limit=MAX_UNIT, field="sending_unit", label="派出单位", required=True
    )
    if start_date > timezone.localdate():
        raise DomainError("任期开始日期不能晚于今天。", field="start_date")
    if start_date < team.term_start:
        raise DomainError(
            f"队员任期开始日期（{start_date}）早于工作队任期开始日期（{team.term_start}）。",
            field="start_date",
        )
    _check_term(start_date, term_end, start_field="start_date", end_field="term_end", what="队员")
    serving = TeamMember.objects.filter(team=team, ended_on__isnull=True)
    if role == "secretary" and serving.filter(role="secretary").exists():
        raise DomainError(
            "该村已有在任的第一书记（每村同一时间只有一名），请先轮换现任第一书记。",
            field="role",
        )
    if user is not None and serving.filter(user=user).exists():
        raise DomainError(f"账号 {user.username} 已是该队在任队员。", field="user")
    try:
        with transaction.atomic():
            member = TeamMember.objects.create(
                team=team,
                user=user,
                name=name,
                sending_unit=unit,
                role=role,
                start_date=start_date,
                term_end=term_end,
            )
    except IntegrityError as exc:  # a concurrent posting won the partial unique index
        raise DomainError("该职务或账号刚被他人登记，请刷新后重试。", field="role") from exc
    record(
        "assistance.team.member.post",
        actor=actor,
        object_type="team_member",
        object_id=member.pk,
        diff={
            "team": [None, team.pk],
            "village": [None, team.village_id],
            "name": [None, name],
            "sending_unit": [None, unit],
            "role": [None, role],
            "user": [None, user.username if user else None],
            "start_date": [None, start_date.isoformat()],
            "term_end": [None, term_end.isoformat()],
        },
    )
    return member


@action
@transaction.atomic
def do_post_team_member(
    team_id: int,
    *,
    name: str,
    sending_unit: str,
    role: str,
    start_date: datetime.date,
    term_end: datetime.date,
    user_id: int | None = None,
    expected_version: int | None = None,
    actor: Any,
) -> TeamMember:
    """Post a member (队长, 第一书记 or 队员) to a team; the team's version moves."""
    _check_team_writer(actor)
    team = _team_locked(actor, team_id)
    if expected_version is not None and expected_version != team.version:
        raise StaleVersion("该驻村工作队已被他人修改，请刷新后重新填写。")
    member = _post(
        team,
        name=name,
        sending_unit=sending_unit,
        role=role,
        start_date=start_date,
        term_end=term_end,
        user_id=user_id,
        actor=actor,
    )
    WorkTeam.objects.filter(pk=team.pk).update(version=F("version") + 1, updated_at=timezone.now())
    return member


@action
@transaction.atomic
def do_rotate_team_member(
    member_id: int,
    *,
    end_date: datetime.date,
    handover_note: str,
    expected_version: int,
    successor_name: str = "",
    successor_unit: str = "",
    successor_term_end: datetime.date | None = None,
    successor_user_id: int | None = None,
    actor: Any,
) -> TeamMember:
    """End a member's term with a handover note (轮换交接); with a successor's name, post the
    successor in the same role from the end date. The old row stays: the team's history."""
    _check_team_writer(actor)
    member = TeamMember.objects.select_for_update().filter(pk=member_id).first()
    if member is None or not can_see_region(actor, member.team.village_id):
        raise OutOfScope("未找到该队员，或您无权访问。", field="member")
    team = _team_locked(actor, member.team_id)
    if member.version != expected_version:
        raise StaleVersion("该队员的记录已被他人修改，请刷新后重新填写。")
    if member.ended_on is not None:
        raise DomainError(f"{member.name} 已于 {member.ended_on} 离任。", field="member")
    note = _text(
        handover_note, limit=MAX_HANDOVER, field="handover_note", label="交接说明", required=True
    )
    if end_date > timezone.localdate():
        raise DomainError("离任日期不能晚于今天。", field="end_date")
    if end_date < member.start_date:
        raise DomainError(
            f"离任日期（{end_date}）早于任期开始日期（{member.start_date}）。", field="end_date"
        )
    updated = TeamMember.objects.filter(pk=member.pk, version=expected_version).update(
        ended_on=end_date, handover_note=note, version=F("version") + 1, updated_at=timezone.now()
    )
    if updated != 1:
        raise StaleVersion("该队员的记录已被他人修改，请刷新后重新填写。")
    successor = None
    if successor_name.strip() or successor_user_id is not None:
        if successor_term_end is None:
            raise DomainError("请填写接任人的任期结束日期。", field="successor_term_end")
        successor = _post(
            team,
            name=successor_name,
            sending_unit=successor_unit,
            role=member.role,
            start_date=end_date,
            term_end=successor_term_end,
            user_id=successor_user_id,
            actor=actor,
        )
        TeamMember.objects.filter(pk=member.pk).update(successor=successor)
    record(
        "assistance.team.member.rotate",
        actor=actor,
        object_type="team_member",
        object_id=member.pk,
        diff={
            "ended_on": [None, end_date.isoformat()],
            "handover_note": [None, note],
            "successor": [None, successor.pk if successor else None],
        },
    )
    WorkTeam.objects.filter(pk=team.pk).update(version=F("version") + 1, updated_at=timezone.now())
    member.refresh_from_db()
    return member


@action
@transaction.atomic
def do_check_in(member_id: int, day: datetime.date, note: str = "", *, actor: Any) -> TeamCheckIn:
    """Record a day in the village (驻村打卡): by the member's own account or by staff of the
    village; never in the future, within the member's term, once per member and day."""
    member = TeamMember.objects.select_for_update().filter(pk=member_id).first()
    if member is None or not can_see_region(actor, member.team.village_id):
        raise OutOfScope("未找到该队员，或您无权访问。", field="member")
    role = getattr(actor, "role", None)
    own = member.user_id is not None and member.user_id == actor.pk and role == "workteam"
    if not own and role not in CHECK_IN_WRITERS:
        raise Forbidden("只能为自己打卡；为他人登记在村天数需县、乡、村业务人员。")
    if not actor.is_active:
        raise Forbidden("账号已停用。")
    text = _text(note, limit=MAX_NOTE, field="note", label="备注", required=False)
    if day > timezone.localdate():
        raise DomainError(f"在村日期（字段“日期”）{day} 晚于今天，不能预先打卡。", field="day")
    if day < member.start_date:
        raise DomainError(
            f"在村日期 {day} 早于 {member.name} 的任期开始日期 {member.start_date}。", field="day"
        )
    if member.ended_on is not None and day > member.ended_on:
        raise DomainError(
            f"在村日期 {day} 晚于 {member.name} 的离任日期 {member.ended_on}。", field="day"
        )
    if TeamCheckIn.objects.filter(member=member, day=day).exists():
        raise DomainError(f"{member.name} 在 {day} 已经打过卡，每人每天一次。", field="day")
    try:
        with transaction.atomic():
            check_in = TeamCheckIn.objects.create(
                member=member, day=day, note=text, recorded_by=actor
            )
    except IntegrityError as exc:
        raise DomainError(
            f"{member.name} 在 {day} 已经打过卡，每人每天一次。", field="day"
        ) from exc
    record(
        "assistance.team.check_in",
        actor=actor,
        object_type="team_member",
        object_id=member.pk,
        diff={"day": [None, day.isoformat()], "note": [None, text]},
    )
    return check_in
