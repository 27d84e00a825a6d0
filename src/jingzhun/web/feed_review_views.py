"""The probabilistic linker's review queue (issue 22 item 2; ADR 0067):
each uncertain pair shown side by side, masked (ID numbers masked, the birth year only), with
accept / reject buttons. Thin: `feeds.selectors.reviews_for` (a liaison sees their feeds' pairs,
region staff those of their region's households), `feeds.link_actions.do_decide_link`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from jingzhun.core.errors import DomainError
from jingzhun.feeds import link_actions, selectors
from jingzhun.feeds.models import REVIEW_STATUS, LinkReview
from jingzhun.registry.choices import SEX
from jingzhun.registry.idcard import mask

from .policies import authenticated

PAGE_SIZE = 30
READERS = selectors.REVIEW_READERS | {"liaison"}
LEVELS = {
    "name": {
        "exact": "相同",
        "one_char": "一字之差",
        "reordered": "字序不同或多一字",
        "else": "不同",
    },
    "birth": {"exact": "相同", "swapped": "月日颠倒", "one_digit": "一位数字不同", "else": "不同"},
    "sex": {"exact": "相同", "else": "不同"},
    "county": {"exact": "同县", "else": "不同县"},
    "village": {
        "village": "同村",
        "village_name": "同名村",
        "township": "同乡镇",
        "else": "不同村",
    },
}
LEVEL_TITLES = {"name": "姓名", "birth": "出生日期", "sex": "性别", "county": "县", "village": "村"}


def _year(text: Any) -> str:
    digits = "".join(ch for ch in str(text or "") if ch.isdigit())
    return digits[:4] if len(digits) >= 4 else "—"


def _pair(review: LinkReview) -> dict[str, Any]:
    """Both sides, masked: the roster row as written (its masked ID, birth year, sex, address)
    and the resident (masked ID, birth year, sex, village, household code)."""
    row = review.row
    values = (row.values or {}) if row else {}
    hints = (row.hints or {}) if row else {}
    member = review.member
    return {
        "review": review,
        "roster": {
            "name": row.name if row else "—",
            "id": (row.id_masked or "—") if row else "—",
            "problem": row.id_problem if row else "",
            "year": _year(values.get("birth_date") or hints.get("birth")),
            "sex": SEX.get(values.get("sex") or hints.get("sex") or "", "—"),
            "place": values.get("residence") or "—",
            "row": f"{row.batch_id}:{row.row_number}" if row else "—",
        },
        "member": {
            "name": member.name,
            "id": mask(member.id_number or ""),
            "year": str(member.birth_date.year) if member.birth_date else "—",
            "sex": SEX.get(member.sex, "—"),
            "place": review.household.village.name,
            "household": review.household.household_code,
        },
        "levels": [
            (LEVEL_TITLES[k], LEVELS[k].get(v, "未比对"))
            for k, v in (review.levels or {}).items()
            if k in LEVELS
        ],
    }


@authenticated
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if getattr(user, "role", "") not in READERS:
        raise Http404(_("未找到该页面，或您无权访问。"))
    status = request.GET.get("status", "pending")
    if status not in REVIEW_STATUS:
        status = "pending"
    found = selectors.reviews_for(user, status=status).order_by("-probability", "pk")
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    pairs = []
    for review in page:
        pair = _pair(review)
        pair["decider"] = review.status == "pending" and link_actions.may_decide(user, review)
        pairs.append(pair)
    context = {
        "nav": "feeds",
        "page": page,
        "pairs": pairs,
        "status": status,
        "statuses": REVIEW_STATUS,
        "query": f"status={status}&",
        "decisions": link_actions.DECISIONS,
    }
    return render(request, "web/feed_review.html", context)


@authenticated
@require_POST
def decide(request: HttpRequest, link_review_id: int) -> HttpResponseBase:
    user: Any = request.user
    if (
        getattr(user, "role", "") not in READERS
        or selectors.review_for(user, link_review_id) is None
    ):
        raise Http404(_("未找到该待核对记录，或您无权访问。"))
    try:
        version = int(request.POST.get("version", "0"))
        link_actions.do_decide_link(
            link_review_id,
            version,
            request.POST.get("decision", ""),
            request.POST.get("note", ""),
            actor=user,
        )
    except ValueError:
        messages.error(request, _("请求无效，请刷新页面后重试。"))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("核对结果已保存。"))
    return redirect("web:feed_review")
