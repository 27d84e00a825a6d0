"""Every label of the workflow tables is marked for translation and has an English entry."""

from __future__ import annotations

import re

from django.utils import translation

from jingzhun.web.workflow_labels import WORKFLOW_LABELS
from jingzhun.workflows.changes import CHANGE_TYPES
from jingzhun.workflows.models import ROUTES
from jingzhun.workflows.transitions import CHECKLIST, EVIDENCE_KINDS, FLOWS, KINDS
from jingzhun.workflows.workdays import UNITS

HAN = re.compile(r"[\u4e00-\u9fff]")


def table_labels() -> set[str]:
    labels = set(KINDS.values()) | set(EVIDENCE_KINDS.values()) | set(CHECKLIST.values())
    labels |= set(ROUTES.values()) | set(UNITS.values()) | set(CHANGE_TYPES.values())
    for flow in FLOWS.values():
        labels |= set(flow.states.values()) | {m.label for m in flow.moves}
    return labels


def test_every_table_label_is_marked_and_translated() -> None:
    assert table_labels() <= set(WORKFLOW_LABELS)
    with translation.override("en"):
        untranslated = [x for x in sorted(WORKFLOW_LABELS) if HAN.search(translation.gettext(x))]
    assert untranslated == []
