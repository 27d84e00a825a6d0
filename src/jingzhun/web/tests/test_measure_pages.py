"""Pages of household plans and measures (issue 21 items 3, 6, 7, 8): the card's 帮扶措施
section per role, proposing and deciding through the pages, the county list and its figures,
households without measures, the liaison's view, and refusals that write nothing."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import VILLAGES

from .conftest import body

pytestmark = pytest.mark.django_db
V1 = VILLAGES["230231100000"][0]
V2 = VILLAGES["230231100000"][1]
PROPOSAL = {
    "kind": "industry",
    "description": "肉牛养殖",
    "amount": "5000",
    "start_date": "2025-03-01",
    "end_date": "2025-12-31",
}


def measures() -> list[dict[str, Any]]:
    from jingzhun.assistance.models import Measure

    return list(Measure.all_objects.order_by("pk").values())


def test_helper_proposes_township_approves_on_the_household_card(
    world: Any, client_for: Any
) -> None:
    from jingzhun.assistance.models import Measure

    household = world.households[V1]
    helper = client_for("helper")
    html = body(helper.get(f"/households/{household.pk}/"))
    assert 'id="measures"' in html and 'id="measure-propose"' in html
    assert "每户至少 2 项产业带动" in html and "未满足" in html
    response = helper.post(f"/households/{household.pk}/measures/", PROPOSAL)
    assert response.status_code == 302 and response["Location"].endswith("#measures")
    m = Measure.objects.get()
    assert (m.status, m.proposer_role, str(m.amount)) == ("proposed", "helper", "5000.00")
    # the helper cannot approve: no buttons, and a POST is refused
    html = body(helper.get(f"/households/{household.pk}/"))
    assert 'value="approve"' not in html
    assert (
        helper.post(
            f"/measures/{m.pk}/step/", {"step": "approve", "version": m.version}
        ).status_code
        == 403
    )
    township = client_for("township")
    html = body(township.get(f"/households/{household.pk}/"))
    assert 'value="approve"' in html and "肉牛养殖" in html
    response = township.post(f"/measures/{m.pk}/step/", {"step": "approve", "version": m.version})
    assert response.status_code == 302
    m.refresh_from_db()
    assert m.status == "approved" and m.approved_by == world.user("township")
    # the helper's home counts the open measure
    home = body(helper.get("/"))
    assert 'class="open-measures">1<' in home


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"amount": "-100"}, "金额不能为负数"),
        ({"end_date": "2025-01-01"}, "结束日期（2025-01-01）不能早于开始日期"),
        ({"kind": "lottery"}, "措施类型"),
    ],
)
def test_bad_input_shows_the_field_and_writes_nothing(
    world: Any, client_for: Any, change: dict[str, str], words: str
) -> None:
    household = world.households[V1]
    response = client_for("village").post(
        f"/households/{household.pk}/measures/", {**PROPOSAL, **change}
    )
    assert response.status_code == 400
    assert words in body(response)
    assert measures() == []


def test_evidence_of_another_type_is_refused(world: Any, client_for: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from jingzhun.assistance.models import Measure, MeasureEvidence

    household = world.households[V1]
    village = client_for("village")
    village.post(f"/households/{household.pk}/measures/", PROPOSAL)
    m = Measure.objects.get()
    bad = SimpleUploadedFile("a.exe", b"MZ\x90\x00binary", content_type="image/png")
    response = village.post(f"/measures/{m.pk}/evidence/", {"file": bad})
    assert response.status_code == 400 and "只接受 PDF、JPG、PNG" in body(response)
    assert not MeasureEvidence.objects.exists()


def test_out_of_scope_and_read_only_roles(world: Any, client_for: Any) -> None:
    other = world.households[VILLAGES["230231101000"][0]]
    assert (
        client_for("village").post(f"/households/{other.pk}/measures/", PROPOSAL).status_code == 404
    )
    assert (
        client_for("helper")
        .post(f"/households/{world.households[V2].pk}/measures/", PROPOSAL)
        .status_code
        == 404
    )
    household = world.households[V1]
    auditor = client_for("auditor")
    assert auditor.post(f"/households/{household.pk}/measures/", PROPOSAL).status_code == 403
    assert 'id="measure-propose"' not in body(auditor.get(f"/households/{household.pk}/"))
    assert measures() == []


def test_county_list_figures_link_to_households(world: Any, client_for: Any) -> None:
    import datetime

    from jingzhun.assistance.measures import do_decide_measure, do_propose_measure

    h1 = world.households[V1]
    m = do_propose_measure(
        h1.pk, "microcredit", datetime.date(2025, 3, 1), actor=world.user("village")
    )
    do_decide_measure(m.pk, True, actor=world.user("township"))
    county = client_for("county")
    html = body(county.get("/measures/"))
    assert "小额信贷" in html and "财政局" in html and h1.household_code in html
    assert "kind=microcredit" in html and "department=finance" in html
    html = body(county.get("/measures/?kind=industry"))
    assert "没有符合条件的帮扶措施" in html
    html = body(county.get("/measures/without/?group=registered"))
    assert h1.household_code not in html
    assert world.households[V2].household_code in html
    other = body(client_for("other_township").get("/measures/"))
    assert h1.household_code not in other


def test_liaison_sees_the_measures_of_its_department(admins: Any, client_for: Any) -> None:
    import datetime

    from jingzhun.assistance.measures import do_propose_measure, do_set_liaison_department

    h2 = admins.households[V2]  # granted to the liaison
    township = admins.user("township")
    do_propose_measure(
        h2.pk, "medical_aid", datetime.date(2025, 3, 1), description="医疗救助甲", actor=township
    )
    do_propose_measure(
        h2.pk, "industry", datetime.date(2025, 3, 1), description="产业乙", actor=township
    )
    do_set_liaison_department(admins.user("liaison").pk, "health", actor=admins.user("county"))
    liaison = client_for("liaison")
    html = body(liaison.get("/measures/"))
    assert "医疗救助甲" not in html  # descriptions are on the card, the list shows kinds
    assert "医疗救助" in html and h2.household_code in html
    card = body(liaison.get(f"/households/{h2.pk}/"))
    assert "医疗救助甲" in card and "产业乙" not in card
    assert 'id="measure-propose"' not in card
