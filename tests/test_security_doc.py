"""docs/security.md answers every requirement of the shared security specification by its id."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "security.md"
# The ids of ../shared/security.md, kept here so the check runs in a clone without shared/.
IDS = [
    "AUTH-1",
    "AUTH-2",
    "AUTH-3",
    "AUTHZ-1",
    "AUTHZ-2",
    "AUTHZ-3",
    "AUTHZ-4",
    "AUDIT-1",
    "AUDIT-2",
    "AUDIT-3",
    "PII-1",
    "PII-2",
    "PII-3",
    "PII-4",
    "VAL-1",
    "VAL-2",
    "REL-1",
    "REL-2",
    "REL-3",
    "BAK-1",
]
HEADING = re.compile(r"^### ([A-Z]+-\d+) ", re.MULTILINE)


def sections() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    parts = HEADING.split(text)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_requirement_has_its_section_once() -> None:
    found = HEADING.findall(DOC.read_text(encoding="utf-8"))
    assert sorted(found) == sorted(IDS)


def test_the_id_list_matches_the_shared_specification_when_it_is_beside_the_repository() -> None:
    spec = ROOT.parent / "shared" / "security.md"
    if not spec.exists():
        pytest.skip("shared/security.md is not beside this clone")
    ids = re.findall(r"\*\*([A-Z]+-\d+) ", spec.read_text(encoding="utf-8"))
    assert ids == IDS


def test_every_test_a_section_names_exists() -> None:
    missing = []
    for ident, body in sections().items():
        for ref in re.findall(r"`((?:src|tests)/[^`\s]+?\.py)(?:::(\w+))?`", body):
            path, name = ref
            file = ROOT / path
            if not file.exists() or (name and f"def {name}(" not in file.read_text("utf-8")):
                missing.append(f"{ident}: {path}{'::' + name if name else ''}")
    assert missing == []
