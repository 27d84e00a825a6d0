"""Fixtures of the feeds tests: the register synced, a liaison for each roster used, and the
golden rosters built from the world's ID numbers (planted hits in the forms rosters really take)."""

from __future__ import annotations

import pytest
from conftest import World, make_id

from jingzhun.workflows.tests.conftest import _evidence_in_tmp  # noqa: F401  (VAR_DIR in tmp)

FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def head_id(seq: int) -> str:
    """The ID number of the world's household heads (seq 1..4 → villages in order)."""
    return make_id("230231", "19700101", seq * 2 + 1)


def x_id() -> str:
    """A valid ID number ending in the check character X."""
    for seq in range(100, 999):
        number = make_id("230231", "19750505", seq)
        if number.endswith("X"):
            return number
    raise AssertionError("no X")


@pytest.fixture
def feeds_world(world: World) -> World:
    from jingzhun.access.models import User
    from jingzhun.feeds.actions import do_set_feed_liaison, do_sync_feed_sources
    from jingzhun.registry.actions import do_create_household

    county = world.user("county")
    do_sync_feed_sources(actor=county)
    for name in ("medic", "police"):
        world.users[name] = User.objects.create_user(
            username=name, password="Test-pass-2026", role="liaison"
        )
    do_set_feed_liaison("medical_spending", "medic", actor=county)
    do_set_feed_liaison("vehicles", "police", actor=county)
    world.households["x"] = do_create_household(
        "HX101201",
        "230231101201",
        {"attribute": "general", "poverty_status": "not_registered"},
        [
            {
                "id_number": x_id(),
                "name": "钱八",
                "relation": "head",
                "labour_capacity": "ordinary",
            }
        ],
        actor=None,
    )
    return world


def csv_bytes(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(f'"{c}"' for c in row) for row in rows).encode("utf-8")


def medical_roster() -> bytes:
    """Planted: head 1 in full-width digits (25,000: hit), head 2 as a 15-digit number (30,000:
    hit), the X household with a lower-case x and spaces (21,000: hit), head 3 below the
    threshold (500), an unknown person (unmatched), a missing and a damaged ID (invalid)."""
    head2 = head_id(2)
    fifteen = head2[:6] + head2[8:17]
    spaced = x_id().lower()
    spaced = f" {spaced[:6]} {spaced[6:14]} {spaced[14:]} "
    damaged = head_id(4)[:17] + ("0" if head_id(4)[17] != "0" else "1")
    return csv_bytes(
        [
            ["医保结算名单（2026年11月）", "", "", ""],
            ["姓名", "身份证号", "个人自付", "结算日期"],
            ["张三", head_id(1).translate(FULLWIDTH), "25000", "2026-11-03"],
            ["李四", fifteen, "30,000.50", "2026/11/04"],
            ["钱八", spaced, "21000元", "2026年11月5日"],
            ["王五", head_id(3), "500", "2026-11-06"],
            ["路人", make_id("230231", "19880808", 123), "90000", "2026-11-07"],
            ["无号", "", "40000", "2026-11-08"],
            ["错号", damaged, "40000", "2026-11-09"],
        ]
    )
