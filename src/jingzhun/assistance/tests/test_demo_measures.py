"""Demo measures follow each household's main cause and let risk elimination proceed."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import VILLAGES

pytestmark = pytest.mark.django_db
V1 = VILLAGES["230231100000"][0]


def test_demo_measures_follow_the_cause_and_are_deterministic(world: Any) -> None:
    from jingzhun.assistance.demo import seed_demo_measures
    from jingzhun.assistance.models import Measure

    # the demo reads the accounts named village and township, as the world's are
    made = seed_demo_measures("230231")
    household = world.households[V1]  # main cause illness
    kinds = sorted(Measure.objects.filter(household=household).values_list("kind", flat=True))
    assert made == Measure.objects.count() > 0
    assert "medical_aid" in kinds and "industry" in kinds
    assert not Measure.objects.exclude(household__village_id=V1).exists()
    statuses = set(Measure.objects.values_list("status", flat=True))
    assert statuses <= {"proposed", "approved", "in_progress", "completed"}
