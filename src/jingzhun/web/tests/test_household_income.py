"""The household card's income form (issue 19 item 2): save, derived figures, stale saves,
bad input, scope and read-only roles."""

from __future__ import annotations

from typing import Any

from conftest import World, signed_in
from django.test import Client

from jingzhun.audit.models import AuditEvent
from jingzhun.registry.models import IncomeRecord

V100_1 = "230231100201"
V101_1 = "230231101201"


def _url(household: Any, year: int = 2019) -> str:
    return f"/households/{household.pk}/incomes/{year}/"


def _form(version: int, **amounts: Any) -> dict[str, Any]:
    return {"version": str(version), **{k: str(v) for k, v in amounts.items()}}


def test_the_card_links_to_the_form_which_saves_and_the_card_shows_the_figures(
    world: World,
) -> None:
    household = world.households[V100_1]
    client = signed_in(Client(), world.user("village"))
    card = client.get(f"/households/{household.pk}/").content.decode()
    assert f"/households/{household.pk}/incomes/" in card  # the 录入 links
    page = client.get(_url(household))
    assert page.status_code == 200 and 'id="income-net"' in page.content.decode()
    response = client.post(
        _url(household),
        _form(
            0, wage_income="12,000", transfer_income=2400, dibao_payment=1800, business_costs=800
        ),
    )
    assert response.status_code == 302 and response["Location"].endswith("#income")
    income = IncomeRecord.objects.get(household=household, year=2019)
    assert income.net_income == 13600 and income.dibao_payment == 1800
    card = client.get(f"/households/{household.pk}/").content.decode()
    assert "13,600.00" in card and "更正 2019 年度收入" in card and "2019 年度收入已保存" in card
    page = client.get(_url(household)).content.decode()
    persons = household.members.count()
    assert f"{13600 / persons:,.2f}" in page and 'name="version" value="1"' in page


def test_a_stale_save_is_409_in_chinese_and_changes_nothing(world: World) -> None:
    household = world.households[V100_1]
    client = signed_in(Client(), world.user("village"))
    assert client.post(_url(household), _form(0, wage_income=100)).status_code == 302
    before = list(IncomeRecord.objects.values()), AuditEvent.objects.count()
    response = client.post(_url(household), _form(0, wage_income=200))
    assert response.status_code == 409
    assert "该年度收入已被他人修改，请刷新后重新填写。" in response.content.decode()
    assert (list(IncomeRecord.objects.values()), AuditEvent.objects.count()) == before


def test_bad_input_is_refused_naming_the_item_and_keeps_what_was_typed(world: World) -> None:
    household = world.households[V100_1]
    client = signed_in(Client(), world.user("village"))
    response = client.post(_url(household), _form(0, wage_income=500, property_income=-3))
    page = response.content.decode()
    assert response.status_code == 400 and "财产性收入不能为负数" in page
    assert 'value="500"' in page and 'id="income-property_income" value="-3"' in page
    assert IncomeRecord.objects.count() == 0


def test_out_of_scope_is_404_and_read_only_roles_cannot_save(world: World) -> None:
    other = world.households[V101_1]
    village = signed_in(Client(), world.user("village"))
    assert village.get(_url(other)).status_code == 404
    assert village.post(_url(other), _form(0, wage_income=1)).status_code == 404
    auditor = signed_in(Client(), world.user("auditor"))
    mine = world.households[V100_1]
    page = auditor.get(_url(mine))
    assert page.status_code == 200 and "disabled" in page.content.decode()
    assert auditor.post(_url(mine), _form(0, wage_income=1)).status_code == 403
    assert IncomeRecord.objects.count() == 0
