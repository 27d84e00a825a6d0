"""The card's edit pages (issue 19 item 3): 编辑户信息 and a member's 编辑, through the registry's
actions with the version the page was read at; the natural-change links to the case page."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

from conftest import World, make_id, signed_in
from django import forms
from django.test import Client
from django.utils import timezone, translation

from jingzhun.audit.models import AuditEvent
from jingzhun.registry.dictionary import FIELDS
from jingzhun.registry.models import Household, Member
from jingzhun.web.forms import HouseholdEditForm, MemberEditForm, RecordEditForm
from jingzhun.workflows.models import Case

HAN = re.compile(r"[\u4e00-\u9fff]")

V100_1 = "230231100201"
V101_1 = "230231101201"


def _edit(household: Household) -> str:
    return f"/households/{household.pk}/edit/"


def _member_edit(member: Member) -> str:
    return f"/members/{member.pk}/edit/"


def _as_posted(form: RecordEditForm) -> dict[str, Any]:
    """What the browser posts for an untouched page: each field's initial value as its widget
    renders it (a checkbox left unticked is not sent)."""
    data: dict[str, Any] = {}
    for bound in form:
        value, widget = bound.value(), bound.field.widget
        if isinstance(widget, forms.NullBooleanSelect):
            data[bound.name] = widget.format_value(value)
        elif isinstance(bound.field, forms.BooleanField):
            if value:
                data[bound.name] = "on"
        elif isinstance(bound.field, forms.MultipleChoiceField):
            data[bound.name] = list(value or [])
        else:
            data[bound.name] = "" if value is None else str(value)
    return data


def _household_form(household: Household, **changes: Any) -> dict[str, Any]:
    return {**_as_posted(HouseholdEditForm(None, household=household)), **changes}


def _rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    return (
        list(Household.all_objects.order_by("pk").values()),
        list(Member.all_objects.order_by("pk").values()),
        # a refusal records its own "refused" event (AUDIT-1); nothing else may be recorded
        AuditEvent.objects.exclude(outcome="refused").count(),
    )


def test_the_card_links_to_the_household_form_which_saves_one_field(world: World) -> None:
    household = world.households[V100_1]
    client = signed_in(Client(), world.user("village"))
    card = client.get(f"/households/{household.pk}/").content.decode()
    assert f'href="{_edit(household)}"' in card and "编辑户信息" in card
    page = client.get(_edit(household)).content.decode()
    # labels from the model's verbose names; workflow-owned fields and sensitive values are absent
    assert "村民小组" in page and "住房面积(平方米)" in page and "卫生厕所" in page
    assert 'name="poverty_status"' not in page and 'name="monitoring_category"' not in page
    assert household.phone not in page and household.bank_account not in page
    assert "139****0001" in page  # the phone's masked form tells which number is kept

    response = client.post(_edit(household), _household_form(household, group_name="第二组"))

    assert response.status_code == 302 and response["Location"].endswith("#basic")
    stored = Household.objects.get(pk=household.pk)
    assert (stored.group_name, stored.version) == ("第二组", household.version + 1)
    assert stored.phone == household.phone  # left empty: kept
    event = AuditEvent.objects.get(event="registry.household.update")
    assert event.diff == {"group_name": ["", "第二组"]}
    assert "户信息已保存" in client.get(f"/households/{household.pk}/").content.decode()


def test_a_new_phone_is_saved_and_a_bad_area_is_400_naming_the_field(world: World) -> None:
    household = world.households[V100_1]
    client = signed_in(Client(), world.user("township"))
    before = _rows()
    response = client.post(_edit(household), _household_form(household, house_area_m2="-5"))
    page = response.content.decode()
    assert response.status_code == 400 and "住房面积(平方米)" in page
    assert 'aria-invalid="true"' in page
    response = client.post(_edit(household), _household_form(household, phone="12345"))
    assert response.status_code == 400 and "联系电话" in response.content.decode()
    assert _rows() == before

    response = client.post(
        _edit(household), _household_form(household, phone="13912345678", house_area_m2="72.5")
    )
    assert response.status_code == 302
    stored = Household.objects.get(pk=household.pk)
    assert (stored.phone, stored.house_area_m2) == ("13912345678", Decimal("72.50"))


def test_a_sensitive_field_is_cleared_only_when_said_and_not_with_a_new_value(
    world: World,
) -> None:
    household = world.households[V100_1]
    client = signed_in(Client(), world.user("village"))
    page = client.get(_edit(household)).content.decode()
    assert 'name="clear_phone"' in page and 'name="clear_bank_account"' in page
    before = _rows()
    both = _household_form(household, phone="13912345678", clear_phone="on")
    response = client.post(_edit(household), both)
    assert response.status_code == 400
    assert "不能同时填写新值并清除" in response.content.decode()
    assert _rows() == before

    response = client.post(_edit(household), _household_form(household, clear_phone="on"))
    assert response.status_code == 302
    stored = Household.objects.get(pk=household.pk)
    assert stored.phone == "" and stored.bank_account == household.bank_account
    event = AuditEvent.objects.get(event="registry.household.update")
    assert list(event.diff) == ["phone"] and household.phone not in str(event.diff)
    # nothing left to clear: the box is gone
    assert 'name="clear_phone"' not in client.get(_edit(household)).content.decode()


def test_a_stale_household_save_is_409_and_changes_nothing(world: World) -> None:
    household = world.households[V100_1]
    client = signed_in(Client(), world.user("village"))
    form = _household_form(household, group_name="一组")
    assert client.post(_edit(household), form).status_code == 302
    before = _rows()
    response = client.post(_edit(household), {**form, "group_name": "二组"})  # the old version
    assert response.status_code == 409
    assert "该户信息已被他人修改，请刷新后重新编辑。" in response.content.decode()
    assert _rows() == before


def test_read_only_roles_see_no_edit_links_and_get_403(world: World) -> None:
    household = world.households[V100_1]
    member = household.members.get(relation="daughter")
    before = _rows()
    for username in ("auditor", "helper"):
        client = signed_in(Client(), world.user(username))
        card = client.get(f"/households/{household.pk}/").content.decode()
        assert "/edit/" not in card and "kind=natural_change" not in card
        assert client.get(_edit(household)).status_code == 403
        assert client.post(_edit(household), _household_form(household)).status_code == 403
        assert client.post(_member_edit(member), {"version": "1", "name": "x"}).status_code == 403
    assert _rows() == before


def test_out_of_scope_households_and_members_are_404(world: World) -> None:
    other = world.households[V101_1]
    member = other.members.get(relation="daughter")
    client = signed_in(Client(), world.user("village"))
    before = _rows()
    assert client.get(_edit(other)).status_code == 404
    assert client.post(_edit(other), _household_form(other, group_name="x")).status_code == 404
    assert client.get(_member_edit(member)).status_code == 404
    form = {"version": "1", "name": "改名", "relation": "daughter"}
    assert client.post(_member_edit(member), form).status_code == 404
    assert _rows() == before


def _member_form(member: Member, **changes: Any) -> dict[str, Any]:
    return {**_as_posted(MemberEditForm(None, member=member)), **changes}


def test_a_member_is_edited_and_the_household_version_moves(world: World) -> None:
    household = world.households[V100_1]
    member = household.members.get(relation="daughter")
    client = signed_in(Client(), world.user("village"))
    card = client.get(f"/households/{household.pk}/").content.decode()
    assert f'href="{_member_edit(member)}"' in card
    page = client.get(_member_edit(member)).content.decode()
    assert "文化程度" in page and "在校生状况" in page
    assert member.id_number not in page and 'value="head"' not in page  # no second head

    response = client.post(
        _member_edit(member), _member_form(member, school_status="junior", health_status="")
    )

    assert response.status_code == 302 and response["Location"].endswith("#members")
    stored = Member.objects.get(pk=member.pk)
    assert (stored.school_status, stored.version) == ("junior", member.version + 1)
    assert Household.objects.get(pk=household.pk).version == household.version + 1
    assert AuditEvent.objects.get(event="registry.member.update").diff == {
        "school_status": ["primary", "junior"]
    }


def test_a_corrected_id_number_brings_its_sex_and_birth_date(world: World) -> None:
    member = world.households[V100_1].members.get(relation="daughter")
    client = signed_in(Client(), world.user("village"))
    new_id = make_id("230231", "20110302", 41)
    response = client.post(_member_edit(member), _member_form(member, new_id_number=new_id))
    assert response.status_code == 302
    stored = Member.objects.get(pk=member.pk)
    assert stored.id_number == new_id and str(stored.birth_date) == "2011-03-02"
    assert stored.sex == ("male" if int(new_id[16]) % 2 else "female")


def test_member_refusals_name_the_field_and_change_nothing(world: World) -> None:
    member = world.households[V100_1].members.get(relation="daughter")
    client = signed_in(Client(), world.user("village"))
    before = _rows()
    bad_id = client.post(_member_edit(member), _member_form(member, new_id_number="123"))
    assert bad_id.status_code == 400 and "证件号码无效" in bad_id.content.decode()
    empty = client.post(_member_edit(member), _member_form(member, name=""))
    assert empty.status_code == 400 and "姓名" in empty.content.decode()
    months = client.post(_member_edit(member), _member_form(member, work_months="13"))
    assert months.status_code == 400 and "务工时间(月)" in months.content.decode()
    assert _rows() == before
    assert client.post(_member_edit(member), _member_form(member, name="新名")).status_code == 302
    stale = client.post(_member_edit(member), _member_form(member, name="又一名"))
    assert stale.status_code == 409 and "该成员信息已被他人修改" in stale.content.decode()
    assert Member.objects.get(pk=member.pk).name == "新名"


def test_the_natural_change_links_open_the_case_page_pre_filled(world: World) -> None:
    household = world.households[V100_1]
    member = household.members.get(relation="daughter")
    client = signed_in(Client(), world.user("village"))
    card = client.get(f"/households/{household.pk}/").content.decode()
    link = (
        f"/cases/new/?household={household.pk}&amp;kind=natural_change"
        f"&amp;change_type=move_out&amp;change_member={member.pk}"
    )
    assert link in card and "change_type=birth" in card
    page = client.get(link.replace("&amp;", "&")).content.decode()
    assert '<option value="natural_change" selected>' in page
    assert '<option value="move_out" selected>' in page
    assert f'<option value="{member.pk}" selected>' in page


def test_every_field_label_of_the_edit_pages_is_translated(world: World) -> None:
    household = world.households[V100_1]
    forms_ = [
        HouseholdEditForm(None, household=household),
        MemberEditForm(None, member=household.members.get(relation="daughter")),
    ]
    labels = [f.label for form in forms_ for f in form.fields.values() if not f.widget.is_hidden]
    clear = {f"清除“{f.label}”" for f in FIELDS.values()}
    assert {str(label) for label in labels} <= {
        *(f.label for f in FIELDS.values()),
        "更正证件号码",
    } | clear
    with translation.override("en"):
        assert [str(label) for label in labels if HAN.search(str(label))] == []


def test_a_natural_change_opened_from_the_card_link_carries_the_member(world: World) -> None:
    today = timezone.localdate()

    household = world.households[V100_1]
    member = household.members.get(relation="daughter")
    client = signed_in(Client(), world.user("village"))
    query = f"household={household.pk}&kind=natural_change&change_type=move_out"
    page = client.get(f"/cases/new/?{query}&change_member={member.pk}")
    assert page.status_code == 200
    response = client.post(
        "/cases/new/",
        {
            "household": household.pk,
            "kind": "natural_change",
            "year": today.year,
            "opened_on": today.isoformat(),
            "change_type": "move_out",
            "change_date": (today - datetime.timedelta(days=3)).isoformat(),
            "change_member": member.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    case = Case.objects.get(household=household, kind="natural_change")
    assert case.change["type"] == "move_out" and case.change["member_id"] == member.pk
    assert Member.objects.filter(pk=member.pk).exists()  # nothing changes before the approval
