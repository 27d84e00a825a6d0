"""Template helpers: translated code labels, tri-state booleans, numbers, the user's scope."""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Any

from django import template
from django.http import HttpRequest
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext

from jingzhun.registry.selectors import overview_roots
from jingzhun.web.policies import path_without_search

register = template.Library()


@register.filter
def label(value: Any) -> str:
    """A Chinese code label (from registry.choices) in the active language; see web/labels.py."""
    if value in (None, ""):
        return ""
    return gettext(str(value))


@register.filter
def ilabel(definition: Any) -> str:
    """An indicator's label in the active language (label_en in policies/indicators)."""
    return str(definition.title(get_language()))


@register.filter
def iunit(definition: Any) -> str:
    return str(definition.unit_in(get_language()))


@register.filter
def yesno3(value: bool | None) -> str:
    """是 / 否 / — for the registry's nullable booleans (unknown is not 'no')."""
    if value is None:
        return "—"
    return gettext("是") if value else gettext("否")


@register.filter
def num(value: Any) -> str:
    """A count or an amount with comma thousands separators (as statistical tables print them)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, Decimal | float):
        return f"{value:,.2f}"
    return f"{int(value):,}"


@register.filter
def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}%"


@register.simple_tag
def next_path(request: HttpRequest) -> str:
    """Where the language switch returns to: this page, without any search term in the URL."""
    return path_without_search(request)


@register.simple_tag
def user_scope(user: Any) -> str:
    """The regions the user works in (or their pairing), for the page header."""
    if not getattr(user, "is_authenticated", False):
        return ""
    if user.role == "helper":
        return gettext("结对帮扶户")
    names = [r.name for r in overview_roots(user)]
    return "、".join(names) if names else gettext("未授权区域")


@register.filter
def can_write(user: Any) -> bool:
    """Whether the account may change registry data (and so sees 数据导入 in the navigation)."""
    from jingzhun.registry.actions import WRITER_ROLES

    return (
        bool(getattr(user, "is_authenticated", False)) and getattr(user, "role", "") in WRITER_ROLES
    )


@register.simple_tag
def unmasked_approvals(user: Any, *kinds: str) -> list[Any]:
    """The user's approved, unexpired, unused unmasked-export requests of these kinds (PII-4)."""
    from jingzhun.exports.actions import own_requests

    if not getattr(user, "may_export_unmasked", False):
        return []
    return list(own_requests(user, usable=True).filter(kind__in=kinds))


@register.filter
def kind_name(cat: Any, code: str) -> str:
    """A measure kind's Chinese name from the catalogue (assistance.catalogue)."""
    return str(cat.kind_label(code))


@register.filter
def department_name(cat: Any, code: str) -> str:
    """A department's Chinese name from the measure catalogue."""
    return str(cat.department_label(code))


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """`mapping[key]` in a template (figures keyed by code); "" when missing."""
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


# --- {% url %} without a reverse() per link --------------------------------------------------
# reverse() costs about 0.2 ms; a page of 50 households with two links each spent ~20 ms in it,
# the helper's home ~7 ms of ~30 (issue 26, B12). Templates that load this library get a `url`
# tag that reverses each (name, number of arguments) once per process and URL configuration,
# with placeholder numbers, and puts the arguments in their place. Only non-negative integers are
# put in that way (what `<int:…>` matches: no quoting); any other argument, keyword arguments or
# an unknown name go through reverse() as Django's tag does. The addresses are the same for every
# user and language (no i18n_patterns), so nothing of one user's page is kept for another.

_PLACEHOLDER = 7_319_046_285_000  # + the argument's position: digits no address contains
_PATTERNS: dict[tuple[Any, ...], str] = {}


def _plain_number(value: Any) -> bool:
    return type(value) is int and value >= 0


def cached_reverse(view_name: str, args: list[Any], current_app: str | None) -> str:
    """reverse(view_name, args) for non-negative integer arguments, from a pattern kept per
    process; reverse() itself otherwise (and for a name the placeholders do not fit)."""
    if not all(_plain_number(a) for a in args):
        return reverse(view_name, args=args, current_app=current_app)
    key = (get_urlconf(), get_script_prefix(), current_app, view_name, len(args))
    pattern = _PATTERNS.get(key)
    if pattern is None:
        placeholders = [_PLACEHOLDER + i for i in range(len(args))]
        try:
            pattern = reverse(view_name, args=placeholders, current_app=current_app)
        except NoReverseMatch:  # e.g. a pattern that admits only some numbers
            return reverse(view_name, args=args, current_app=current_app)
        if any(pattern.count(str(p)) != 1 for p in placeholders):
            return reverse(view_name, args=args, current_app=current_app)
        _PATTERNS[key] = pattern
    for i, value in enumerate(args):
        pattern = pattern.replace(str(_PLACEHOLDER + i), str(value))
    return pattern


@register.simple_tag
def household_rows(rows: Any) -> str:
    """The household list's table rows, written in one pass: the same markup as the loop of
    Django template tags it replaced (web/_household_results.html), which took about a third of
    the county list's CPU time for its 50 rows (issue 26, B12). Every text is escaped."""
    esc = html.escape
    out = []
    for h in rows:
        url = esc(cached_reverse("web:household", [h.pk], None))
        cells = (
            f'<td><a href="{url}">{esc(str(h.household_code))}</a></td>'
            f'<td><a href="{url}">{esc(str(h.head_name))}</a></td>'
            f"<td>{esc(str(h.village.name))}</td>"
            f'<td class="n">{esc(str(h.member_count))}</td>'
            f"<td>{esc(label(h.get_attribute_display()))}</td>"
            f"<td>{esc(label(h.get_main_cause_display()))}</td>"
            f'<td><span class="status status-{esc(str(h.poverty_status))}">'
            f"{esc(label(h.get_poverty_status_display()))}</span></td>"
            f'<td class="n">{esc(str(h.identified_year or "—"))}</td>'
            f'<td class="n">{esc(str(h.exit_year or "—"))}</td>'
        )
        out.append(f"<tr>{cells}</tr>")
    return mark_safe("\n".join(out))  # noqa: S308 - every value escaped above


class CachedURLNode(URLNode):
    def render(self, context: Any) -> str:
        if self.kwargs:
            return super().render(context)
        args = [arg.resolve(context) for arg in self.args]
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = cached_reverse(view_name, args, current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser: Any, token: Any) -> CachedURLNode:
    """Django's {% url %} (same syntax), with cached_reverse for positional arguments."""
    node = django_url(parser, token)
    return CachedURLNode(node.view_name, node.args, node.kwargs, node.asvar)


@register.filter
def fen(value: Any) -> str:
    """An amount in fen (分) shown in yuan with two decimals: 123456 → 1,234.56."""
    if value is None or value == "":
        return "—"
    whole, cents = divmod(abs(int(value)), 100)
    return f"{'-' if int(value) < 0 else ''}{whole:,}.{cents:02d}"
