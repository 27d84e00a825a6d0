"""The asset pages' code labels (assets.choices) are listed in asset_views and translated."""

from __future__ import annotations


def test_every_code_label_is_listed_and_translated() -> None:
    import re

    from django.utils import translation

    from jingzhun.assets import choices as c
    from jingzhun.web.asset_views import ASSET_LABELS

    labels = {
        label
        for table in (
            c.ASSET_KINDS,
            c.ASSET_CATEGORIES,
            c.OWNER_KINDS,
            c.ASSET_STATES,
            c.USES,
            c.PLAN_STATES,
        )
        for label in table.values()
    }
    assert labels <= set(ASSET_LABELS)
    with translation.override("en"):
        assert [
            x for x in sorted(labels) if re.search(r"[\u4e00-\u9fff]", translation.gettext(x))
        ] == []
