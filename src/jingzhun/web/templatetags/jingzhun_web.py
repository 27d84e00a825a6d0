"""Template helpers: translated code labels, tri-state booleans, numbers, the user's scope."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.http import HttpRequest
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
def fen(value: Any) -> str:
    """An amount in fen (分) shown in yuan with two decimals: 123456 → 1,234.56."""
    if value is None or value == "":
        return "—"
    whole, cents = divmod(abs(int(value)), 100)
    return f"{'-' if int(value) < 0 else ''}{whole:,}.{cents:02d}"
