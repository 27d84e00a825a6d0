"""Helpers for the demo generator tests: generate a county, digest what was written."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.db import models

from jingzhun.access.models import HelperPairing
from jingzhun.demo.actions import DemoResult, DemoSpec, do_generate_demo_county
from jingzhun.regions.models import Region, RegionPopulation
from jingzhun.registry.models import Household, IncomeRecord, Member, StatusChange

PASSWORD = "Demo-pass-2026"

# Tables the generator writes, and the columns that legitimately differ between two runs.
DIGEST_TABLES: list[tuple[type[models.Model], set[str]]] = [
    (Region, {"updated_at"}),
    (RegionPopulation, set()),
    (Household, set()),
    (Member, set()),
    (StatusChange, set()),
    (IncomeRecord, set()),
    (HelperPairing, {"id", "helper", "created_at"}),
]


def digest_rows() -> str:
    """SHA-256 over every row (all columns but the excluded ones) of the generated tables."""
    h = hashlib.sha256()
    for model, excluded in DIGEST_TABLES:
        names = [f.attname for f in model._meta.concrete_fields if f.name not in excluded]
        order = "pk" if model is not HelperPairing else "household_id"
        for row in model._base_manager.order_by(order).values_list(*names):
            h.update(repr(row).encode())
        h.update(model._meta.db_table.encode())
    return h.hexdigest()


def generate(
    county: str, *, scale: float = 1.0, seed: int = 1, chunk_size: int = 10_000, **kw: Any
) -> DemoResult:
    return do_generate_demo_county(
        DemoSpec(county=county, scale=scale, seed=seed, password=PASSWORD, chunk_size=chunk_size),
        **kw,
    )


@pytest.fixture
def small_baiquan(db: Any) -> DemoResult:
    """Baiquan at a tenth of its size (about 5,900 persons)."""
    return generate("230231", scale=0.1)
