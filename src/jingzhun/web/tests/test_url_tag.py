"""The templates' {% url %} (web.templatetags.jingzhun_web): the same addresses as reverse(),
reversing each name once (issue 26)."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse

from jingzhun.web.templatetags import jingzhun_web


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("web:overview", []),
        ("web:household", [1]),
        ("web:household", [123456]),
        ("web:household", [0]),
        ("web:household_income", [42, 2025]),
        ("web:team_village", ["230231100201"]),  # a string: reverse() itself
    ],
)
def test_same_address_as_reverse(name: str, args: list[object]) -> None:
    jingzhun_web._PATTERNS.clear()
    for _ in range(2):  # the first reverses, the second uses the kept pattern
        assert jingzhun_web.cached_reverse(name, args, "web") == reverse(name, args=args)


def test_what_reverse_refuses_is_refused() -> None:
    jingzhun_web._PATTERNS.clear()
    jingzhun_web.cached_reverse("web:household", [5], "web")
    for bad in ([-1], [True], ["x/y"]):
        with pytest.raises(NoReverseMatch):
            jingzhun_web.cached_reverse("web:household", bad, "web")
    with pytest.raises(NoReverseMatch):
        jingzhun_web.cached_reverse("web:no_such_page", [], "web")


def test_the_tag_renders_like_djangos() -> None:
    jingzhun_web._PATTERNS.clear()
    ours = Template(
        "{% load jingzhun_web %}{% url 'web:household' pk %}|{% url 'web:overview' %}|"
        "{% url 'web:household' pk as link %}{{ link }}|{% url 'web:nothing' as none %}[{{ none }}]"
    )
    django = Template("{% url 'web:household' pk %}|{% url 'web:overview' %}|")
    rendered = ours.render(Context({"pk": 77}))
    assert rendered.startswith(django.render(Context({"pk": 77})))
    assert rendered.endswith("/households/77/|[]")
