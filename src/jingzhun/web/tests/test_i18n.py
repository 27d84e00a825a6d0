"""The English translation: the switch, the catalogue, and code labels from registry.choices."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.test import Client
from django.utils import translation

from jingzhun.access.models import ROLE_LABELS
from jingzhun.registry import choices as c
from jingzhun.web.labels import LABELS

from .conftest import body

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "en" / "LC_MESSAGES"
HAN = re.compile(r"[\u4e00-\u9fff]")


def all_choice_labels() -> set[str]:
    tables = [
        v
        for k, v in vars(c).items()
        if k.isupper() and isinstance(v, dict) and not k.endswith("SYNONYMS")
    ]
    return {label for table in tables for label in table.values()} | set(ROLE_LABELS.values())


def test_every_code_label_is_marked_for_translation() -> None:
    assert all_choice_labels() <= set(LABELS)


def test_every_code_label_has_an_english_translation() -> None:
    with translation.override("en"):
        untranslated = [
            label for label in sorted(all_choice_labels()) if HAN.search(translation.gettext(label))
        ]
    assert untranslated == []


def test_the_compiled_catalogue_is_in_the_tree_and_matches_the_source() -> None:
    # Every msgid of the .po (singular, no context) translates through the compiled .mo.
    po = (LOCALE / "django.po").read_text(encoding="utf-8")
    assert (LOCALE / "django.mo").exists()
    assert "fuzzy" not in po  # msgfmt leaves fuzzy entries out: they would show Chinese

    def text(quoted: str) -> str:  # a .po string's content: \" and \\ unescaped
        return re.sub(r'\\(["\\])', r"\1", quoted)

    singles = [
        (text(m.group(1)), text(m.group(2)))
        for block in po.split("\n\n")
        if "msgctxt" not in block and (m := re.search(r'(?m)^msgid "(.+)"\nmsgstr "(.*)"$', block))
    ]
    assert len(singles) > 100
    with translation.override("en"):
        wrong = [
            (source, english)
            for source, english in singles
            if translation.gettext(source) != english
        ]
    assert wrong == []


def test_the_login_page_switches_to_english_and_back(world: Any) -> None:
    # Given an anonymous visitor on the Chinese login page
    client = Client()
    assert "用户名" in body(client.get("/login/"))
    # When they choose English
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    # Then they come back to the login page in English
    assert response.status_code == 302 and response["Location"] == "/login/"
    html = body(client.get("/login/"))
    assert 'lang="en"' in html and "Username" in html and "Log in" in html
    assert "用户名" not in html
    # and the wrong-login message is English too
    failed = body(client.post("/login/", {"username": "county", "password": "Wrong-pass-2026"}))
    assert "Incorrect username or password." in failed
    # and choosing Chinese brings Chinese back
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    assert "用户名" in body(client.get("/login/"))


def test_the_language_switch_does_not_carry_a_search_term(world: Any, client_for: Any) -> None:
    html = body(client_for("county").get("/households/?q=230231197001010033&status=exited"))
    assert 'name="next" value="/households/?status=exited"' in html
    assert "230231197001010033" not in html


def test_measure_statuses_and_catalogue_names_are_translated() -> None:
    from jingzhun.assistance.catalogue import catalogue
    from jingzhun.assistance.choices import MEASURE_STATUS
    from jingzhun.web.labels import MEASURE_LABELS

    cat = catalogue()
    names = (
        set(MEASURE_STATUS.values())
        | {e.name for e in cat.kinds.values()}
        | set(cat.departments.values())
        | {r.title for r in cat.rules}
    )
    assert names <= set(MEASURE_LABELS), sorted(names - set(MEASURE_LABELS))
    po = (Path(__file__).parents[2] / "locale/en/LC_MESSAGES/django.po").read_text("utf-8")
    translated = set(re.findall(r'^msgid "(.+)"\nmsgstr "(?:.+)"$', po, re.M))
    assert sorted(names - translated) == []
