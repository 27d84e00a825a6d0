"""贫困户 list: search by POST, filters, pagination, scoping, and no full ID number in any page."""

from __future__ import annotations

import re
from typing import Any

import pytest

from jingzhun.audit.models import AuditEvent
from jingzhun.registry.models import Household, Member

from .conftest import FULL_ID, body

T1, T2 = "230231100000", "230231101000"
V1, V2 = "230231100201", "230231100202"
OTHER_VILLAGE = "230231101201"


def codes_listed(html: str) -> list[str]:
    """Household codes in the result table, in order."""
    return re.findall(r'<td><a href="/households/\d+/">(H\d+)</a></td>', html)


def id_of(world: Any, village: str, relation: str = "head") -> str:
    return Member.objects.get(household=world.households[village], relation=relation).id_number


def test_county_user_lists_every_household_of_the_county(world: Any, client_for: Any) -> None:
    response = client_for("county").get("/households/")
    html = body(response)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert codes_listed(html) == ["H100201", "H100202", "H101201", "H101202"]
    assert "共 4 户" in html
    for header in [
        "户编号",
        "户主姓名",
        "所属村",
        "人口数",
        "贫困户属性",
        "主要致贫原因",
        "脱贫状态",
        "识别年度",
        "脱贫年度",
    ]:
        assert f"<th>{header}</th>" in html
    row = html[html.index(">H100201<") :]
    row = row[: row.index("</tr>")]
    assert (
        "张三" in row
        and "第1镇1村" in row
        and "一般贫困户" in row
        and "因病" in row
        and "未脱贫" in row
    )
    assert '<td class="n">2</td>' in row and '<td class="n">2014</td>' in row


@pytest.mark.parametrize(
    ("term", "expected"),
    [("张三", ["H100201"]), ("李小", ["H100202"]), ("H101202", ["H101202"]), ("无此人", [])],
)
def test_search_by_name_member_name_or_code(
    world: Any, client_for: Any, term: str, expected: list[str]
) -> None:
    html = body(client_for("county").post("/households/", {"q": term}))
    assert codes_listed(html) == expected


def test_short_terms_match_names_from_the_start_longer_ones_anywhere(
    world: Any, client_for: Any
) -> None:
    # Given a household whose head has a four-character name (members 张三/张小 … as usual)
    from conftest import make_id

    from jingzhun.registry.actions import do_create_household

    do_create_household(
        "H900001",
        V1,
        {"attribute": "general"},
        [{"id_number": make_id("230231", "19800101", 300), "name": "欧阳建国", "relation": "head"}],
        actor=None,
    )
    client = client_for("county")

    def found(term: str) -> list[str]:
        return codes_listed(body(client.post("/households/", {"q": term})))

    # one or two characters: from the start of a head's or member's name (a surname, a name)
    assert found("王") == ["H101201"]
    assert found("欧阳") == ["H900001"]
    assert found("小") == []  # 张小, 李小 … end in 小: not matched by one character
    assert found("建国") == []  # a given name alone: type three characters or the whole name
    # three or more: anywhere in the name
    assert found("阳建国") == ["H900001"]
    assert found("欧阳建国") == ["H900001"]
    # the page says how a name is matched
    assert "从姓名开头匹配" in body(client.get("/households/"))


def test_search_by_id_number_finds_the_household_and_never_shows_the_full_number(
    world: Any, client_for: Any
) -> None:
    # Given the ID number of a member who is not the head
    id_number = id_of(world, "230231101202", relation="daughter")
    client = client_for("county")
    # When it is searched (by POST: the page form, and the HTMX partial)
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = client.post("/households/", {"q": id_number}, **headers)
        html = body(response)
        # Then the household is found, the masked number is shown, and no full ID appears anywhere
        assert response.status_code == 200
        assert codes_listed(html) == ["H101202"]
        assert id_number not in html
        assert FULL_ID.findall(html) == []
        assert f"{id_number[:6]}********{id_number[-4:]}" in html


def test_a_lower_case_or_spaced_id_number_is_found_too(world: Any, client_for: Any) -> None:
    id_number = id_of(world, V2)
    spaced = f"{id_number[:6]} {id_number[6:14]} {id_number[14:]}".lower()
    html = body(client_for("county").post("/households/", {"q": spaced}))
    assert codes_listed(html) == ["H100202"]
    assert FULL_ID.findall(html) == [] and id_number[6:14] not in html


def test_a_search_term_in_the_url_is_refused_and_nothing_is_searched(
    world: Any, client_for: Any
) -> None:
    # Given an ID number put into the list's URL
    id_number = id_of(world, V1)
    client = client_for("county")
    events, households = AuditEvent.objects.count(), Household.objects.count()
    # When the list is requested by GET
    response = client.get("/households/", {"q": id_number})
    html = body(response)
    # Then it is refused with a Chinese message, no result table, and the number is not echoed
    assert response.status_code == 400
    assert "请在页面上的查询框中输入查询内容" in html
    assert codes_listed(html) == []
    assert id_number not in html and FULL_ID.findall(html) == []
    assert (AuditEvent.objects.count(), Household.objects.count()) == (events, households)


def test_a_name_in_the_url_is_refused_as_well(world: Any, client_for: Any) -> None:
    response = client_for("county").get("/households/?q=张三")
    assert response.status_code == 400
    assert codes_listed(body(response)) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"township={T2}", ["H101201", "H101202"]),
        (f"village={V2}", ["H100202"]),
        ("status=exited", ["H100202"]),
        ("status=remaining", ["H100201", "H101201", "H101202"]),
        ("status=registered", ["H100201", "H100202", "H101201", "H101202"]),
        ("status=exited_with_policy", ["H100202"]),
        (f"township={T1}&status=not_exited", ["H100201"]),
        ("attribute=dibao", []),
        ("cause=illness", ["H100201", "H100202", "H101201", "H101202"]),
    ],
)
def test_filters_by_link(world: Any, client_for: Any, query: str, expected: list[str]) -> None:
    from django.utils import timezone

    from jingzhun.registry.actions import do_change_household_status

    do_change_household_status(
        world.households[V2].pk, "exited_with_policy", timezone.localdate(), "达标", actor=None
    )
    assert codes_listed(body(client_for("county").get(f"/households/?{query}"))) == expected


def test_filters_and_search_together_by_post(world: Any, client_for: Any) -> None:
    client = client_for("county")
    assert codes_listed(body(client.post("/households/", {"q": "王小", "township": T2}))) == [
        "H101201"
    ]
    assert codes_listed(body(client.post("/households/", {"q": "张", "township": T2}))) == []


def test_township_user_does_not_see_the_other_township(world: Any, client_for: Any) -> None:
    client = client_for("township")
    html = body(client.get("/households/"))
    assert codes_listed(html) == ["H100201", "H100202"]
    assert "共 2 户" in html
    assert "第2镇" not in html  # not even among the filter options
    # searching the other township's head by name or by ID number finds nothing
    assert codes_listed(body(client.post("/households/", {"q": "王五"}))) == []
    assert codes_listed(body(client.post("/households/", {"q": id_of(world, OTHER_VILLAGE)}))) == []


def test_a_village_filter_outside_the_scope_is_an_invalid_choice(
    world: Any, client_for: Any
) -> None:
    response = client_for("township").get(f"/households/?village={OTHER_VILLAGE}")
    html = body(response)
    assert response.status_code == 200
    assert "筛选条件有误" in html
    assert codes_listed(html) == []


def test_helper_sees_only_the_paired_household(world: Any, client_for: Any) -> None:
    client = client_for("helper")
    assert codes_listed(body(client.get("/households/"))) == ["H100201"]
    assert codes_listed(body(client.post("/households/", {"q": "李四"}))) == []
    assert codes_listed(body(client.post("/households/", {"q": id_of(world, V2)}))) == []


def test_htmx_gets_only_the_results(world: Any, client_for: Any) -> None:
    response = client_for("county").post("/households/", {"q": "赵六"}, HTTP_HX_REQUEST="true")
    html = body(response)
    assert html.lstrip().startswith('<div id="results">')
    assert "<html" not in html
    assert codes_listed(html) == ["H101202"]


def test_fifty_households_a_page(world: Any, client_for: Any) -> None:
    # Given 55 more households in village 1 (59 in the county)
    from conftest import make_id

    from jingzhun.registry.actions import do_create_household

    for i in range(55):
        do_create_household(
            f"H9{i:05d}",
            V1,
            {"attribute": "general"},
            [
                {
                    "id_number": make_id("230231", "19800101", 100 + i),
                    "name": f"户主{i}",
                    "relation": "head",
                }
            ],
            actor=None,
        )
    client = client_for("county")
    # When the first page is asked for, then the next and back (keyset pages: the pager buttons
    # post the form with the household code after which, or before which, the page starts)
    first = body(client.get("/households/"))
    shown = codes_listed(first)
    next_after = re.search(r'name="after" value="(\w+)"', first)
    assert next_after is not None and next_after.group(1) == shown[-1]
    second = body(client.post("/households/", {"after": shown[-1]}))
    # Then 50 and 9 households are shown, together all of them once, in code order
    assert "共 59 户" in first and "共 59 户" in second
    assert len(shown) == 50 and len(codes_listed(second)) == 9
    everything = sorted(Household.objects.values_list("household_code", flat=True))
    assert shown + codes_listed(second) == everything
    # the first page has no previous, the last no next
    assert 'name="before"' not in first and 'name="after"' not in second
    before = re.search(r'name="before" value="(\w+)"', second)
    assert before is not None and before.group(1) == codes_listed(second)[0]
    # and the previous page of the second is the first again
    assert codes_listed(body(client.post("/households/", {"before": before.group(1)}))) == shown
    # a page after the last household is empty, not an error
    assert codes_listed(body(client.post("/households/", {"after": everything[-1]}))) == []


def test_deep_pages_follow_filters_and_the_count_is_capped(
    world: Any, client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 6 more households in village 1 (10 in the county) and a count cap of 5
    from conftest import make_id

    from jingzhun.core import paging
    from jingzhun.registry.actions import do_create_household

    for i in range(6):
        do_create_household(
            f"H9{i:05d}",
            V1,
            {"attribute": "general"},
            [{"id_number": make_id("230231", "19800101", 200 + i), "name": f"钱{i}",
              "relation": "head"}],
            actor=None,
        )  # fmt: skip
    monkeypatch.setattr(paging, "COUNT_CAP", 5)
    client = client_for("county")
    # When the list is asked for
    html = body(client.get("/households/"))
    # Then the count says "more than 5" instead of counting every household
    assert "超过 5 户" in html and "共 10 户" not in html
    # and with a filter that leaves 2, the count is exact
    few = body(client.get(f"/households/?township={T2}"))
    assert "共 2 户" in few and codes_listed(few) == ["H101201", "H101202"]
    # and a page after a key keeps the filters: only village 1's households after H100202
    after = body(client.post("/households/", {"village": V1, "after": "H100202"}))
    assert codes_listed(after) == [f"H9{i:05d}" for i in range(6)]


def test_soft_deleted_households_are_not_listed(world: Any, client_for: Any) -> None:
    from jingzhun.registry.actions import do_delete_household

    do_delete_household(world.households[V2].pk, "重复登记", actor=world.user("county"))
    assert codes_listed(body(client_for("county").get("/households/"))) == [
        "H100201",
        "H101201",
        "H101202",
    ]


def test_list_in_english(world: Any, client_for: Any) -> None:
    client = client_for("county")
    client.post("/i18n/setlang/", {"language": "en", "next": "/households/"})
    html = body(client.get("/households/"))
    assert "Household code" in html and "Not exited" in html and "General poor household" in html
    assert "4 households" in html
    assert "户编号" not in html
