"""Phone numbers (mobile and landline) and bank account numbers (length, a card's Luhn digit),
checked by the registry's actions and by the importer."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import VILLAGES, World
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn

from jingzhun.core.errors import DomainError
from jingzhun.imports.fields import FIELDS
from jingzhun.imports.values import BadValue, convert
from jingzhun.registry.actions import do_update_household
from jingzhun.registry.contact import bank_account_problem, luhn_check_digit, phone_problem
from jingzhun.registry.models import Household

VILLAGE = VILLAGES["230231100000"][0]


@pytest.mark.parametrize(
    "phone",
    [
        "13912345678",
        "19912345678",
        "+8613912345678",
        "139-1234-5678",
        "139 1234 5678",
        "0451-8765432",
        "045187654321",
        "010-62345678",
        "(0451)87654321",
        "0451-8765432-123",
        "0451-8765432转12",
        "",
    ],
)
def test_valid_phones(phone: str) -> None:
    assert phone_problem(phone) == ""


@pytest.mark.parametrize(
    ("phone", "reason"),
    [
        ("1391234567", "11 位"),  # a digit short
        ("139123456789", "11 位"),
        ("12912345678", "手机号码"),  # no mobile range starts 12
        ("0451-0765432", "固定电话"),  # a subscriber number never starts with 0
        ("451-8765432", "固定电话"),  # the area code's 0 missing
        ("0451-87654", "固定电话"),
        ("call me", "固定电话"),
    ],
)
def test_invalid_phones(phone: str, reason: str) -> None:
    assert reason in phone_problem(phone)


@given(st.text(alphabet="0123456789", min_size=11, max_size=18))
def test_luhn_agrees_with_stdnum(body: str) -> None:
    assert luhn.is_valid(body + luhn_check_digit(body))


@pytest.mark.parametrize(
    ("account", "reason"),
    [
        ("6222020011112221", ""),  # a UnionPay card with its check digit
        ("6222020011112222", "校验位"),  # one digit off
        ("6228480000000000000", ""),
        ("6228480000000000001", "校验位"),
        ("4111111111111111", ""),
        ("4111111111111112", "校验位"),
        ("101202000012000001", ""),  # a passbook account: no check digit
        ("123456789012", ""),  # 12 digits
        ("12345678901", "12–19 位"),
        ("62220200111122211234", "12–19 位"),
        ("62220200111１2221", "只能包含数字"),
        ("", ""),
    ],
)
def test_bank_accounts(account: str, reason: str) -> None:
    problem = bank_account_problem(account)
    assert (reason in problem) if reason else problem == ""


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("phone", "1391234567", "联系电话“1391234567”无效：手机号码应为 11 位数字"),
        ("bank_account", "6222020011112222", "银行账号“6222020011112222”无效：银行卡号校验位"),
    ],
)
def test_the_registry_refuses_them_naming_the_field(
    world: World, field: str, value: str, reason: str
) -> None:
    household = world.households[VILLAGE]
    with pytest.raises(DomainError) as refused:
        do_update_household(household.pk, household.version, {field: value}, actor=None)
    assert reason in refused.value.message and refused.value.field == field
    assert Household.objects.get(pk=household.pk).version == household.version


@pytest.mark.parametrize(
    ("key", "raw", "reason"),
    [
        ("phone", "1391234567", "11 位"),
        ("phone", 1391234567, "11 位"),  # a numeric cell
        ("bank_account", "6222 0200 1111 2222", "校验位"),
        ("bank_account", "12345", "12–19 位"),
    ],
)
def test_the_importer_refuses_them(key: str, raw: Any, reason: str) -> None:
    with pytest.raises(BadValue, match=reason):
        convert(raw, FIELDS[key])
    assert convert("13912345678" if key == "phone" else "6222020011112221", FIELDS[key])
