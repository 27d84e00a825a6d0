"""No re-identification (security PII-1): everything an ordinary user is shown masked about one
household, gathered from every surface, must not give back an ID number, phone or bank account.

A masked ID number shows its first 6 and last 4 characters; the 8 hidden digits are exactly the
birth date (YYYYMMDD). So wherever a masked ID goes, the full birth date must not go too, in any
common date format; the age or the birth year may.
"""

from __future__ import annotations

import datetime
import io
from typing import Any

import openpyxl
import pytest
from conftest import VILLAGES, World, card_number, make_id, signed_in
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from jingzhun.registry.actions import do_create_household
from jingzhun.registry.models import Household, Member
from jingzhun.workflows.actions import CaseDetails, do_open_case

pytestmark = pytest.mark.django_db
VILLAGE = VILLAGES["230231100000"][0]
HEAD_BORN = datetime.date(1969, 8, 14)
WIFE_BORN = datetime.date(1971, 3, 9)
PHONE = "13912345678"
BANK = card_number("622202123456789012")  # 19 digits, Luhn-valid


def date_forms(day: datetime.date) -> set[str]:
    """The ways a date is commonly written: 1969-08-14, 19690814, 1969年8月14日, 1969/8/14, …"""
    y, m, d = day.year, day.month, day.day
    forms = set()
    for mm, dd in ((f"{m}", f"{d}"), (f"{m:02d}", f"{d:02d}")):
        forms |= {f"{y}-{mm}-{dd}", f"{y}/{mm}/{dd}", f"{y}.{mm}.{dd}", f"{y}年{mm}月{dd}日"}
    forms.add(f"{y}{m:02d}{d:02d}")
    return forms


def _download(response: Any) -> bytes:
    assert response.status_code == 200, response.content[:300]
    return b"".join(response.streaming_content)


def _xlsx_text(data: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    cells = [
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    ]
    return "\n".join(cells)


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def _household(world: World) -> Household:
    return do_create_household(
        "H100201X",
        VILLAGE,
        {
            "attribute": "general",
            "main_cause": "illness",
            "phone": PHONE,
            "bank_account": BANK,
            "identified_year": 2014,
        },
        [
            {
                "id_number": make_id("230231", HEAD_BORN.strftime("%Y%m%d"), 1),
                "name": "孙七",
                "relation": "head",
                "basic_medical_insured": True,
            },
            {
                "id_number": make_id("230231", WIFE_BORN.strftime("%Y%m%d"), 2),
                "name": "周八",
                "relation": "spouse",
                "basic_medical_insured": True,
            },
        ],
        actor=None,
    )


def _get(client: Client, url: str, data: dict[str, Any] | None = None) -> str:
    response = client.get(url, data or {})
    assert response.status_code == 200, (url, response.content[:300])
    return response.content.decode()


def _every_masked_surface(client: Client, household: Household, case_id: int) -> dict[str, str]:
    """The text of every surface the user sees masked about the household, by surface."""
    pk = household.pk
    members = Member.objects.filter(household=household).values_list("pk", flat=True)
    year = str(timezone.localdate().year)
    notice = {"village": VILLAGE, "kind": "exit", "start": "2020-03-02", "days": "7"}
    texts = {
        "list page": client.post("/households/", {"q": "孙七"}).content.decode(),
        "household page": _get(client, f"/households/{pk}/"),
        "case page": _get(client, f"/cases/{case_id}/"),
        "API list": _get(client, "/api/households", {"q": "孙七"}),
        "API household": _get(client, f"/api/households/{pk}"),
        "API members": _get(client, f"/api/households/{pk}/members"),
        "API case": _get(client, f"/api/cases/{case_id}"),
        "API cases": _get(client, "/api/cases"),
        "roster": _xlsx_text(_download(client.post("/exports/roster/", {"q": "孙七"}))),
        "card xlsx": _xlsx_text(
            _download(client.post(f"/households/{pk}/export/", {"format": "xlsx"}))
        ),
        "card PDF": _pdf_text(
            _download(client.post(f"/households/{pk}/export/", {"format": "pdf"}))
        ),
        "facts": _download(client.post("/exports/facts/", {"q": "孙七", "year": year})).decode(),
        "notice": _pdf_text(
            _download(client.post("/exports/notice/", {**notice, "household": [pk]}))
        ),
    }
    for m in members:
        texts[f"API member {m}"] = _get(client, f"/api/members/{m}")
    return texts


@pytest.mark.parametrize("username", ["village", "auditor"])
def test_no_masked_value_can_be_rebuilt_from_every_surface_of_a_household(
    world: World, username: str
) -> None:
    # Given a household with two adults, a phone and a bank account, and a birth in it on a case
    household = _household(world)
    born = timezone.localdate() - datetime.timedelta(days=40)
    baby = make_id("230231", born.strftime("%Y%m%d"), 3)
    case = do_open_case(
        household.pk,
        "natural_change",
        CaseDetails(
            change={
                "type": "birth",
                "date": born,
                "member": {"name": "孙小宝", "id_number": baby, "relation": "son"},
            }
        ),
        actor=world.user("village"),
    )
    ids = [*[m.id_number for m in Member.objects.filter(household=household)], baby]
    # When an ordinary user gathers everything they are shown about it (nothing revealed)
    surfaces = _every_masked_surface(signed_in(Client(), world.user(username)), household, case.pk)
    text = "\n".join(surfaces.values())
    # Then the surfaces did show the household, its masked values and the members' ages
    assert "孙七" in text and "孙小宝" in text
    assert "230231********" in text and f"{PHONE[:3]}****{PHONE[-4:]}" in text
    # but no full value, and not the hidden part of any masked ID number: its birth date
    assert [v for v in (*ids, PHONE, BANK) if v in text] == []
    for day in (HEAD_BORN, WIFE_BORN, born):
        shown = {k: f for k, v in surfaces.items() for f in date_forms(day) if f in v}
        assert shown == {}, day
    # nor more of the bank account than its last 4 digits
    assert BANK[-5:] not in text and BANK[:6] not in text
    # nor the phone's hidden middle digits next to its visible ones
    assert PHONE[:7] not in text and PHONE[3:] not in text
