"""Each request and response schema of the API has its own name: django-ninja names OpenAPI
components by the class name, so two classes called `IncomeIn` in two modules make one
component, and the published schema describes one route's body with the other's fields (the
fuzz test found PUT /api/households/{id}/incomes/{year} documented with the asset income's)."""

from __future__ import annotations

from collections import defaultdict

from ninja import Schema

import jingzhun.api.api  # noqa: F401  (imports every router and its schemas)


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found.add(sub)
        found |= _subclasses(sub)
    return found


def test_every_api_schema_has_a_name_of_its_own() -> None:
    names: dict[str, set[str]] = defaultdict(set)
    for cls in _subclasses(Schema):
        if cls.__module__.startswith("jingzhun."):
            names[cls.__name__].add(cls.__module__)
    shared = {name: sorted(mods) for name, mods in names.items() if len(mods) > 1}
    assert not shared, f"schema class names used in more than one module: {shared}"
