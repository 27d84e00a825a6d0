"""Measure evidence downloads and the liaison department page (issue 21 items 3, 7): scoped
and audited like case evidence, the right type and name, 404 outside the reader's scope; the
department set by county staff only, audited, a bad department refused with nothing written."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from conftest import TOWNSHIPS, VILLAGES, World

from .conftest import body

V1 = VILLAGES[TOWNSHIPS[0]][0]
V2 = VILLAGES[TOWNSHIPS[0]][1]
PDF = b"%PDF-1.4\n% a signed agreement\n"


def _evidence(world: World, village: str, kind: str = "industry") -> Any:
    from jingzhun.assistance.measures import do_attach_measure_evidence, do_propose_measure

    measure = do_propose_measure(
        world.households[village].pk, kind, datetime.date(2025, 3, 1), actor=world.user("county")
    )
    return do_attach_measure_evidence(measure.pk, "协议 2025.pdf", PDF, actor=world.user("county"))


def _events(action: str) -> int:
    from jingzhun.audit.models import AuditEvent

    return AuditEvent.objects.filter(event=action).count()


def test_download_is_scoped_typed_named_and_audited(admins: World, client_for: Any) -> None:
    item = _evidence(admins, V1)
    url = f"/measures/evidence/{item.pk}/"
    response = client_for("township").get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "2025.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert _events("assistance.measure.evidence.download") == 1
    for outsider in ("other_township", "liaison", "verifier"):
        before = _events("assistance.measure.evidence.download")
        assert client_for(outsider).get(url).status_code == 404, outsider
        assert _events("assistance.measure.evidence.download") == before
    assert client_for("helper").get(url).status_code == 200  # paired with V1's household
    assert client_for("county").get("/measures/evidence/999999/").status_code == 404


def test_a_liaison_downloads_only_its_departments_kinds(admins: World, client_for: Any) -> None:
    from jingzhun.assistance.measures import do_set_liaison_department

    industry = _evidence(admins, V2, "industry")  # agriculture
    medical = _evidence(admins, V2, "medical_aid")  # health
    liaison = admins.user("liaison")  # granted V2's household
    do_set_liaison_department(liaison.pk, "health", actor=admins.user("county"))
    client = client_for("liaison")
    assert client.get(f"/measures/evidence/{medical.pk}/").status_code == 200
    assert client.get(f"/measures/evidence/{industry.pk}/").status_code == 404


def test_county_sets_a_liaisons_department(admins: World, client_for: Any) -> None:
    from jingzhun.assistance.models import LiaisonDepartment

    liaison = admins.user("liaison")
    client = client_for("county")
    html = body(client.get("/measures/liaisons/"))
    assert f'id="liaison-{liaison.pk}"' in html and "未设置" in html
    assert 'id="liaisons-link"' in body(client.get("/measures/"))
    response = client.post("/measures/liaisons/", {"user": liaison.pk, "department": "health"})
    assert response.status_code == 302
    assert LiaisonDepartment.objects.get(user=liaison).department == "health"
    assert _events("assistance.liaison.department") == 1
    # bad input: a department not in the catalogue, an account that is not a liaison
    response = client.post("/measures/liaisons/", {"user": liaison.pk, "department": "police"})
    assert response.status_code == 400 and "请选择联络员和措施目录中的部门" in body(response)
    township = admins.user("township")
    response = client.post("/measures/liaisons/", {"user": township.pk, "department": "health"})
    assert response.status_code == 400 and "行业部门联络员" in body(response)
    assert LiaisonDepartment.objects.get(user=liaison).department == "health"
    assert LiaisonDepartment.objects.count() == 1
    assert _events("assistance.liaison.department") == 1


@pytest.mark.parametrize("role", ["township", "village", "auditor", "helper", "liaison"])
def test_only_county_staff_set_departments(admins: World, client_for: Any, role: str) -> None:
    from jingzhun.assistance.models import LiaisonDepartment

    client = client_for(role)
    liaison = admins.user("liaison")
    assert client.get("/measures/liaisons/").status_code == 403
    response = client.post("/measures/liaisons/", {"user": liaison.pk, "department": "health"})
    assert response.status_code == 403
    assert not LiaisonDepartment.objects.exists()
