"""户卡: masked sensitive values, income, conditions, history; 404 outside the user's scope."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.utils import timezone

from jingzhun.audit.actions import OUT_OF_SCOPE
from jingzhun.audit.models import AuditEvent
from jingzhun.registry.models import Household, Member

from .conftest import FULL_ID, body

V1, V2, OTHER_VILLAGE = "230231100201", "230231100202", "230231101201"


def test_card_shows_the_household_with_sensitive_values_masked(world: Any, client_for: Any) -> None:
    # Given the household of village 1 (phone, bank account, two members, the head chronically ill)
    household = world.households[V1]
    members = list(Member.objects.filter(household=household).order_by("id"))
    # When the county user opens its card
    response = client_for("county").get(f"/households/{household.pk}/")
    html = body(response)
    # Then the card shows the household and its members
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert "H100201" in html and "拜泉县 / 第1镇 / 第1镇1村" in html
    assert "一般贫困户" in html and "因病" in html and "国家标准" in html and "未脱贫" in html
    assert "张三" in html and "张小" in html and "户主" in html and "之女" in html
    # with ID numbers as first 6 + 8 stars + last 4, and no full ID number anywhere
    for m in members:
        assert f"{m.id_number[:6]}********{m.id_number[-4:]}" in html
        assert m.id_number not in html
        # with the first 6 and last 4 shown, the birth date would give back the whole number
        assert m.birth_date.strftime("%Y%m%d") not in html
        assert m.birth_date.isoformat() not in html
    assert FULL_ID.findall(html) == []
    # phone 3 + 4, bank account last 4, health hidden
    assert "139****0001" in html and household.phone not in html
    assert "****" + household.bank_account[-4:] in html and household.bank_account not in html
    assert "***" in html and "长期慢性病" not in html
    # ages instead of birth dates (born 1970-01-01 and 2010-06-01)
    today = timezone.localdate()
    assert f'<td class="n">{today.year - 1970}</td>' in html
    # the status history starts with the registration
    assert "建档立卡登记" in html


def test_card_shows_income_with_derived_net_and_per_capita_income(
    world: Any, client_for: Any
) -> None:
    from jingzhun.registry.actions import do_record_income

    household = world.households[V1]
    do_record_income(
        household.pk,
        2019,
        {
            "wage_income": "5000",
            "business_income": "3000",
            "property_income": "100",
            "transfer_income": "2000",
            "dibao_payment": "1200",
            "business_costs": "1000",
        },
        actor=world.user("county"),
    )
    do_record_income(household.pk, 2020, {"wage_income": "8000"}, actor=world.user("county"))
    html = body(client_for("county").get(f"/households/{household.pk}/"))
    income = html[html.index('id="income"') : html.index('id="conditions"')]
    assert "2019 年" in income and "2020 年" in income
    assert income.index("2019 年") < income.index("2020 年")
    assert "5,000.00" in income and "1,200.00" in income
    # net = 5000 + 3000 + 100 + 2000 - 1000 = 9100; per person over 2 members = 4550
    assert "9,100.00" in income and "4,550.00" in income
    assert "8,000.00" in income and "4,000.00" in income


def test_card_shows_conditions_and_monitoring_when_set(world: Any, client_for: Any) -> None:
    from jingzhun.registry.actions import do_update_household

    household = world.households[V1]
    do_update_household(
        household.pk,
        household.version,
        {
            "food_secure": True,
            "clothing_secure": True,
            "house_safety_grade": "C",
            "water_quality_ok": False,
            "road_type": "gravel",
            "monitoring_category": "edge",
            "risk_types": ["illness", "disaster"],
            "risk_status": "not_eliminated",
        },
        actor=world.user("county"),
        by_workflow=True,  # monitoring is a case's outcome
    )
    html = body(client_for("county").get(f"/households/{household.pk}/"))
    conditions = html[html.index('id="conditions"') :]
    assert "<dt>不愁吃</dt><dd>是</dd>" in conditions
    assert "<dt>住房安全等级</dt><dd>C级</dd>" in conditions
    assert "<dt>水质达标</dt><dd>否</dd>" in conditions  # labels from registry.dictionary
    assert "<dt>水量达标</dt><dd>—</dd>" in conditions  # unknown is not "no"
    assert "砂石路" in conditions
    monitoring = html[html.index('id="monitoring"') :]
    assert (
        "边缘易致贫户" in monitoring and "因病、因灾" in monitoring and "风险未消除" in monitoring
    )


def test_monitoring_section_is_absent_when_not_monitored(world: Any, client_for: Any) -> None:
    html = body(client_for("county").get(f"/households/{world.households[V1].pk}/"))
    assert 'id="monitoring"' not in html


def test_status_history_lists_each_change(world: Any, client_for: Any) -> None:
    from jingzhun.registry.actions import do_change_household_status

    household = world.households[V1]
    today = timezone.localdate()
    do_change_household_status(
        household.pk, "exited_with_policy", today, "收入稳定超过标准", actor=world.user("county")
    )
    html = body(client_for("county").get(f"/households/{household.pk}/"))
    history = html[html.index('id="history"') :]
    assert "未脱贫 → <strong>已脱贫(享受政策)</strong>" in history
    assert "收入稳定超过标准" in history and "county" in history
    assert history.index("建档立卡登记") < history.index("收入稳定超过标准")


@pytest.mark.parametrize(
    ("username", "village", "status"),
    [
        ("county", OTHER_VILLAGE, 200),
        ("auditor", OTHER_VILLAGE, 200),
        ("township", V2, 200),
        ("township", OTHER_VILLAGE, 404),
        ("other_township", V1, 404),
        ("village", V1, 200),
        ("village", V2, 404),
        ("helper", V1, 200),
        ("helper", V2, 404),
    ],
)
def test_card_is_404_outside_the_users_scope(
    world: Any, client_for: Any, username: str, village: str, status: int
) -> None:
    client = client_for(username)
    household = world.households[village]
    others = AuditEvent.objects.exclude(event=OUT_OF_SCOPE)
    events, versions = (
        others.count(),
        list(Household.objects.values_list("version", flat=True)),
    )
    response = client.get(f"/households/{household.pk}/")
    assert response.status_code == status
    if status == 404:
        assert household.head_name not in body(response)
        assert "未找到" in body(response)
    # nothing changes; a 404 is audited as a denied attempt (AUDIT-1)
    assert (others.count(), list(Household.objects.values_list("version", flat=True))) == (
        events,
        versions,
    )
    denied = AuditEvent.objects.filter(event=OUT_OF_SCOPE, actor_name=username).count()
    assert denied == (1 if status == 404 else 0)


def test_unknown_and_out_of_scope_households_look_the_same(world: Any, client_for: Any) -> None:
    client = client_for("township")
    missing = client.get(f"/households/{max(h.pk for h in world.households.values()) + 100}/")
    hidden = client.get(f"/households/{world.households[OTHER_VILLAGE].pk}/")
    assert missing.status_code == hidden.status_code == 404

    def normalised(html: str) -> str:  # the CSRF token and the requested path differ, nothing else
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
        return re.sub(r"/households/\d+/", "/households/N/", html)

    assert normalised(body(missing)) == normalised(body(hidden))


def test_a_deleted_household_is_404(world: Any, client_for: Any) -> None:
    from jingzhun.registry.actions import do_delete_household

    household = world.households[V2]
    do_delete_household(household.pk, "重复登记", actor=world.user("county"))
    assert client_for("county").get(f"/households/{household.pk}/").status_code == 404


def test_the_card_refuses_post(world: Any, client_for: Any) -> None:
    household = world.households[V1]
    before = Household.objects.get(pk=household.pk).version
    response = client_for("county").post(f"/households/{household.pk}/", {"head_name": "改名"})
    assert response.status_code == 405
    assert Household.objects.get(pk=household.pk).version == before


def test_card_in_english(world: Any, client_for: Any) -> None:
    client = client_for("county")
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = body(client.get(f"/households/{world.households[V1].pk}/"))
    assert "Household members" in html and "ID number" in html and "Head of household" in html
    assert "家庭成员" not in html


def test_ages_count_whole_years() -> None:
    from jingzhun.registry.masking import age_on

    assert age_on(datetime.date(2010, 6, 1), datetime.date(2026, 5, 31)) == 15
    assert age_on(datetime.date(2010, 6, 1), datetime.date(2026, 6, 1)) == 16
