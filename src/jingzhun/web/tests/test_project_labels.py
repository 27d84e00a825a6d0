"""Every code label of the project bank is marked for translation and has its English."""

from __future__ import annotations

import re

from django.utils import translation

from jingzhun.projects import choices as c
from jingzhun.projects import lifecycle as lc
from jingzhun.web.labels import PROJECT_LABELS

HAN = re.compile(r"[\u4e00-\u9fff]")


def labels() -> set[str]:
    tables = [
        v
        for k, v in vars(c).items()
        if k.isupper() and isinstance(v, dict) and k != "POSTING_SIDES"
    ]
    found = {label for table in tables for label in table.values()} | set(lc.STATES.values())
    return found | {m.label for m in lc.MOVES}


def test_every_label_is_listed_and_translated() -> None:
    assert labels() <= set(PROJECT_LABELS)
    with translation.override("en"):
        assert [x for x in sorted(labels()) if HAN.search(translation.gettext(x))] == []
