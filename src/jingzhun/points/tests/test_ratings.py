"""Star ratings (五星新农家): stars per criterion from the rules, one rating per household and
year, changed only with its version before posting, final after; five-star lists per village."""

from __future__ import annotations

from typing import Any

import pytest

from jingzhun.audit.models import AuditEvent
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.points.actions import do_post_ratings, do_rate_household
from jingzhun.points.models import StarRating
from jingzhun.points.selectors import five_star_villages, ratings_for

from .conftest import OTHER_VILLAGE, VILLAGE, household, today

pytestmark = pytest.mark.django_db

ALL = {"hygiene": 1, "civility": 1, "filial": 1, "lawful": 1, "self_reliance": 1}


def _refused(work: Any, *words: str, error: type[DomainError] = DomainError) -> None:
    before = (
        StarRating.all_objects.count(),
        AuditEvent.objects.count(),
        list(StarRating.all_objects.values_list("version", "total", "state")),
    )
    with pytest.raises(error) as caught:
        work()
    for word in words:
        assert word in caught.value.message, caught.value.message
    after = (
        StarRating.all_objects.count(),
        AuditEvent.objects.count(),
        list(StarRating.all_objects.values_list("version", "total", "state")),
    )
    assert after == before


def test_rating_with_every_star_is_five_star_and_traced(world: Any) -> None:
    year = today().year
    rating = do_rate_household(household(world).pk, year, ALL, actor=world.user("village"))
    assert rating.total == 5 and rating.full and rating.state == "draft"
    assert [t["criterion"] for t in rating.trace] == list(ALL)
    assert rating.rules_version.startswith("2026-12-07#")
    four = do_rate_household(
        household(world, OTHER_VILLAGE).pk, year, {**ALL, "lawful": 0}, actor=world.user("township")
    )
    assert four.total == 4 and not four.full
    county = world.user("county")
    rows = {v.village_code: (v.rated, v.full) for v in five_star_villages(county, year)}
    assert rows == {VILLAGE: (1, 1), OTHER_VILLAGE: (1, 0)}
    assert [r.pk for r in ratings_for(county, year=year, full=True)] == [rating.pk]
    assert [r.pk for r in ratings_for(world.user("village"), year=year)] == [rating.pk]
    assert list(ratings_for(world.user("helper"), year=year)) == []


def test_bad_stars_are_refused(world: Any) -> None:
    h = household(world).pk
    year = today().year
    village = world.user("village")
    _refused(
        lambda: do_rate_household(h, year, {**ALL, "hygiene": 2}, actor=village), "卫生星", "0 至 1"
    )
    _refused(
        lambda: do_rate_household(h, year, {"beauty": 1}, actor=village),
        "beauty",
        "points_rules.yaml",
    )
    _refused(lambda: do_rate_household(h, year + 1, ALL, actor=village), "年度")
    _refused(
        lambda: do_rate_household(h, year, ALL, actor=world.user("auditor")),
        "无权",
        error=Forbidden,
    )
    _refused(
        lambda: do_rate_household(h, year, ALL, actor=world.user("other_township")),
        "未找到该户",
        error=OutOfScope,
    )


def test_a_rating_changes_with_its_version_until_posted(world: Any) -> None:
    h = household(world).pk
    year = today().year
    village = world.user("village")
    rating = do_rate_household(h, year, {**ALL, "civility": 0}, actor=village)
    _refused(lambda: do_rate_household(h, year, ALL, actor=village), "已评定")
    changed = do_rate_household(h, year, ALL, expected_version=rating.version, actor=village)
    assert changed.total == 5 and changed.version == rating.version + 1
    _refused(
        lambda: do_rate_household(h, year, ALL, expected_version=rating.version, actor=village),
        "已被他人修改",
        error=StaleVersion,
    )
    assert do_post_ratings(VILLAGE, year, actor=village) == 1
    posted = StarRating.objects.get(pk=rating.pk)
    assert posted.state == "posted" and posted.posted_on == today()
    _refused(
        lambda: do_rate_household(h, year, ALL, expected_version=posted.version, actor=village),
        "已公示",
    )
    _refused(lambda: do_post_ratings(VILLAGE, year, actor=village), "没有待公示")
