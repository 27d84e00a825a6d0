"""Scoped reads of precise assistance: pairings, households without a helper, helper load.

Every read starts from `access.scoping` (through `registry.selectors.households_for` or
`scope_households`): a helper sees the pairings of their own households only.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from jingzhun.access.models import HelperPairing, User
from jingzhun.access.scoping import granted_codes, household_filter, scope_households
from jingzhun.core.errors import OutOfScope
from jingzhun.regions import codes
from jingzhun.registry import choices as c
from jingzhun.registry.models import Household
from jingzhun.registry.selectors import households_for

from .actions import current_pairings_q
from .choices import UNPAIRED_GROUPS
from .models import HelperProfile
from .quotas import Quota, quota_for


def _scoped_ids(user: Any) -> QuerySet[Any]:
    return scope_households(user, Household.objects.all()).order_by().values("pk")


def _under(region: str, prefix: str = "") -> Q:
    if not region:
        return Q()
    try:
        level = codes.level_of(region)
    except codes.CodeError:
        return Q(pk__in=[])  # not a division code: nothing lies under it
    # Household's own columns (indexed); a foreign key has no `startswith` lookup in Django.
    if level == "village":
        return Q(**{f"{prefix}village_id": region})
    if level == "township":
        return Q(**{f"{prefix}township_code": region})
    if level == "county":
        return Q(**{f"{prefix}county_code": region})
    return Q(**{f"{prefix}village__code__startswith": codes.prefix(region)})


def pairings_for(
    user: Any,
    *,
    region: str = "",
    helper_id: int | None = None,
    current: bool = True,
    on: datetime.date | None = None,
) -> QuerySet[HelperPairing]:
    """Pairings of the households the user may see (current ones on `on`, or all)."""
    qs = HelperPairing.objects.filter(household_id__in=_scoped_ids(user))
    if current:
        qs = qs.filter(current_pairings_q(on or timezone.localdate()))
    if region:
        qs = qs.filter(_under(region, "household__"))
    if helper_id is not None:
        qs = qs.filter(helper_id=helper_id)
    return qs.select_related(
        "household", "household__village", "helper", "helper__helper_profile", "successor"
    ).order_by("household__household_code", "start_date", "pk")


def pairing_for(user: Any, pairing_id: int) -> HelperPairing:
    pairing = pairings_for(user, current=False).filter(pk=pairing_id).first()
    if pairing is None:
        raise OutOfScope("未找到该结对记录，或您无权访问。")
    return pairing


def group_filter(group: str) -> Q:
    """The households of an unpaired list: registered (建档立卡) or monitored, never closed."""
    if group == "registered":
        return Q(poverty_status__in=c.REGISTERED_STATUSES)
    if group == "monitored":
        return ~Q(monitoring_category="") & ~Q(poverty_status__in=c.CLOSED_STATUSES)
    raise OutOfScope(f"没有“{group}”这一名单，应为：{'、'.join(UNPAIRED_GROUPS)}。")


def _group_households(user: Any, group: str, region: str) -> QuerySet[Household]:
    return households_for(user).filter(group_filter(group)).filter(_under(region))


def _running_pairings(on: datetime.date | None) -> QuerySet[HelperPairing]:
    return HelperPairing.objects.filter(current_pairings_q(on or timezone.localdate()))


def unpaired_households(
    user: Any, group: str, *, region: str = "", on: datetime.date | None = None
) -> QuerySet[Household]:
    """Households of the group in the user's scope without a pairing running on `on`."""
    running = _running_pairings(on).filter(household=OuterRef("pk"))
    return (
        _group_households(user, group, region)
        .filter(~Exists(running))
        .select_related("village")
        .order_by("household_code")
    )


def unpaired_count(
    user: Any, group: str, *, region: str = "", on: datetime.date | None = None
) -> int:
    """`unpaired_households(...).count()`, counted as count_without does (issue 26 item 3)."""
    return count_without(_group_households(user, group, region), _running_pairings(on))


# Above this many households with a related row, count_without counts the plain way.
COUNT_APART_LIMIT = 5_000


def count_without(households: QuerySet[Household], having: QuerySet[Any]) -> int:
    """How many of `households` have no row in `having` (rows with a `household_id`): the same
    number as `households.filter(~Exists(having.filter(household=OuterRef("pk")))).count()`
    (count_without_plain), counted as all of them minus those that have one.

    Why: the anti-join reads every household of the scope from the table (a county's 100,000:
    100-170 ms a count on the B12 data), while here the households are counted from a partial
    index alone (registry 0008: index-only, ~15 ms for a county), and those with a related row
    by primary key from the related rows' few household ids, read first: given as a subquery,
    PostgreSQL chose a merge join over the whole primary key for a village (80 ms). When more
    than COUNT_APART_LIMIT households have a related row, the plain anti-join is as cheap."""
    ids = list(
        having.order_by().values_list("household_id", flat=True).distinct()[: COUNT_APART_LIMIT + 1]
    )
    if len(ids) > COUNT_APART_LIMIT:
        return count_without_plain(households, having)
    every = households.order_by().count()
    return every - households.order_by().filter(pk__in=ids).count() if ids else every


def count_without_plain(households: QuerySet[Household], having: QuerySet[Any]) -> int:
    """The plain count that count_without gives faster (the tests compare both)."""
    related = having.order_by().filter(household=OuterRef("pk"))
    return households.order_by().filter(~Exists(related)).count()


@dataclass
class HelperRow:
    helper: User
    profile: HelperProfile | None
    load: int  # households paired now, anywhere
    in_scope: int  # of them, in the reader's scope
    quota: Quota | None

    @property
    def over(self) -> bool:
        return self.quota is not None and self.load > self.quota.limit

    @property
    def free(self) -> int | None:
        return None if self.quota is None else max(self.quota.limit - self.load, 0)


def quota_county(user: Any) -> str:
    """The county whose quotas a reader's helper page shows: the county of their first grant."""
    for code in granted_codes(user):
        if codes.level_of(code) in ("county", "township", "village"):
            return codes.county_of(code)
    return ""


def helper_rows(
    user: Any, *, on: datetime.date | None = None, helper_id: int | None = None
) -> list[HelperRow]:
    """Helper accounts with their load against the quota of the reader's county.

    Region staff see every active helper account (to choose whom to pair); a helper only
    themselves; other per-household roles nobody."""
    day = on or timezone.localdate()
    role = getattr(user, "role", "")
    if role == "helper":
        helpers = User.objects.filter(pk=user.pk)
    elif granted_codes(user):
        helpers = User.objects.filter(role="helper", is_active=True)
    else:
        return []
    if helper_id is not None:
        helpers = helpers.filter(pk=helper_id)
    running = current_pairings_q(day, prefix="pairings__")
    # region staff: the reader's scope as a condition on the paired household's own columns
    # (a join), not `IN (every household of the county)`, which PostgreSQL hashes per request
    # (B12: /api/helpers 140 ms, nearly all of it that scan)
    in_scope = (
        Q(pairings__household_id__in=_scoped_ids(user))
        if role == "helper"
        else household_filter(user, prefix="pairings__household__")
        & Q(pairings__household__deleted_at__isnull=True)
    )
    helpers = helpers.annotate(
        in_scope=Count(
            "pairings__household",
            filter=in_scope & running,
            distinct=True,
        ),
        # the load the quota counts (actions.helper_load): pairings not ended before today
        load=Count(
            "pairings__household",
            filter=Q(pairings__end_date__isnull=True) | Q(pairings__end_date__gt=day),
            distinct=True,
        ),
        first_county=Subquery(
            HelperPairing.objects.filter(current_pairings_q(day), helper=OuterRef("pk"))
            .order_by("pk")
            .values("household__county_code")[:1]
        ),
    ).order_by("username")
    profiles = {p.user_id: p for p in HelperProfile.objects.filter(user__in=helpers)}
    county = quota_county(user)
    quotas: dict[tuple[str, str], Quota | None] = {}
    rows = []
    for helper in helpers:
        profile = profiles.get(helper.pk)
        home = county or helper.first_county or ""
        quota = None
        if profile is not None and home:
            key = (home, profile.kind)
            if key not in quotas:
                quotas[key] = quota_for(home, profile.kind, day)
            quota = quotas[key]
        rows.append(HelperRow(helper, profile, helper.load, helper.in_scope, quota))
    return rows


def helper_choices(user: Any) -> list[User]:
    """Helper accounts a region's staff may pair (active, role helper)."""
    if not granted_codes(user):
        return []
    return list(User.objects.filter(role="helper", is_active=True).order_by("username"))


@dataclass
class HomeHousehold:
    """One row of a helper's home page. Visits and measures (issue 21 items 3-4) add fields."""

    pairing: HelperPairing
    household: Household
    open_measures: int = 0  # proposed, approved or in progress (issue 21 item 3)

    @property
    def monitored(self) -> bool:
        return bool(self.household.monitoring_category)


@dataclass
class HelperHome:
    helper: User
    profile: HelperProfile | None
    quota: Quota | None
    households: list[HomeHousehold] = field(default_factory=list)

    @property
    def monitored_count(self) -> int:
        return sum(1 for h in self.households if h.monitored)


def helper_home(user: Any, *, on: datetime.date | None = None) -> HelperHome:
    """What a helper's home page shows: their current households (their scope, exactly)."""
    day = on or timezone.localdate()
    profile = HelperProfile.objects.filter(user=user).first()
    pairings = list(pairings_for(user, helper_id=user.pk, on=day))
    county = pairings[0].household.county_code if pairings else ""
    quota = quota_for(county, profile.kind, day) if profile and county else None
    from .measure_selectors import open_measure_counts

    open_counts = open_measure_counts([p.household_id for p in pairings])
    return HelperHome(
        helper=user,
        profile=profile,
        quota=quota,
        households=[
            HomeHousehold(p, p.household, open_counts.get(p.household_id, 0)) for p in pairings
        ],
    )
