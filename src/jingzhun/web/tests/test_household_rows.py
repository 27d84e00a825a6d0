"""The household list's rows written in one pass (templatetags.household_rows, ADR 0089): every
text escaped, the same cells as the template loop it replaced."""

from __future__ import annotations

from types import SimpleNamespace

from jingzhun.web.templatetags.jingzhun_web import household_rows


def test_rows_escape_every_text_and_show_a_dash_for_missing_years() -> None:
    row = SimpleNamespace(
        pk=7,
        household_code='H<1>"',
        head_name="<script>alert(1)</script>",
        village=SimpleNamespace(name="A&B村"),
        member_count=3,
        poverty_status='x"><img',
        identified_year=2014,
        exit_year=None,
        get_attribute_display=lambda: "一般贫困户",
        get_main_cause_display=lambda: "<i>因病</i>",
        get_poverty_status_display=lambda: "已脱贫",
    )
    html = str(household_rows([row]))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<i>" not in html and "&lt;i&gt;因病&lt;/i&gt;" in html
    assert "H&lt;1&gt;&quot;" in html and "A&amp;B村" in html
    assert 'status-x&quot;&gt;&lt;img"' in html
    assert html.count('href="/households/7/"') == 2
    assert '<td class="n">2014</td>' in html and '<td class="n">—</td>' in html
    assert html.startswith("<tr>") and html.endswith("</tr>") and html.count("<td") == 9
