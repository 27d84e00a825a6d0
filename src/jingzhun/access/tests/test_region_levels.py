"""A grant of a prefecture or province sees every household of the counties below it (the
household filter used a `startswith` on the village foreign key, which Django refuses)."""

from __future__ import annotations

import pytest
from conftest import World


@pytest.mark.parametrize("region", ["230200000000", "230000000000"])
def test_prefecture_and_province_grants_see_the_counties_below(world: World, region: str) -> None:
    from jingzhun.access.models import RegionGrant, User
    from jingzhun.access.scoping import scope_households
    from jingzhun.registry.models import Household

    user = User.objects.create_user(username="above", password="Test-pass-2026", role="auditor")
    RegionGrant.objects.create(user=user, region_id=region)
    seen = set(scope_households(user, Household.objects.all()).values_list("pk", flat=True))
    assert seen == {h.pk for h in world.households.values()}
