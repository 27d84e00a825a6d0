"""The self-check survey on the offline field page (issue 24 item 6; ADR "fieldsurvey-offline").

The field page `/visits/` is the one page the service worker keeps (scope `/visits/`, ADR
"visits-offline"): a helper gets their visits there, a survey team member (county or township
staff, `selfcheck.actions.SURVEYORS`) gets the sampled households of their open self-checks and
the survey form. Surveys are queued in the browser's IndexedDB and sent to
`POST /visits/surveys/sync/` (session + the page's CSRF token in `X-CSRFToken`; a JSON body
`{"surveys": [...]}`), answered with one outcome per survey (`selfcheck.sync.do_sync_surveys`).
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from jingzhun.core.errors import DomainError
from jingzhun.selfcheck.actions import SURVEYORS
from jingzhun.selfcheck.sync import MAX_BATCH, do_sync_surveys, field_rows

from .policies import authenticated

TRI = (("", "未填"), ("1", "是"), ("0", "否"))


def survey_field(request: HttpRequest) -> HttpResponse:
    """The survey team's field page (rendered by visit_views.field for their roles): the sampled
    households to survey, with the version each was downloaded at, and the survey form."""
    rows = field_rows(request.user)
    for r in rows:
        r["group_label"] = _(r["group_label"])
    flags = [
        ("food_clothing_secure", _("不愁吃、不愁穿")),
        ("education_secure", _("义务教育有保障")),
        ("medical_secure", _("基本医疗有保障")),
        ("housing_secure", _("住房安全有保障")),
        ("water_secure", _("饮水安全有保障")),
    ]
    context = {
        "nav": "visits",
        "rows": rows,
        "today": timezone.localdate(),
        "flags": flags,
        "tri": [(k, _(v)) for k, v in TRI],
        "data": {
            "households": rows,
            "user": request.user.pk,
            "batch": MAX_BATCH,
            "sw": reverse("web:visit_sw"),
            "scope": reverse("web:visit_field"),
        },
    }
    return render(request, "web/survey_field.html", context)


@authenticated
@require_http_methods(["POST"])
def survey_sync(request: HttpRequest) -> JsonResponse:
    """Store a batch of surveys queued offline once each; one outcome per survey (stored,
    duplicate, conflict, refused) in the order sent."""
    if getattr(request.user, "role", "") not in SURVEYORS:
        return JsonResponse({"error": _("只有县级、乡镇核查组人员可以同步入户调查。")}, status=403)
    try:
        raw = json.loads(request.body or b"{}")
        items = raw.get("surveys") if isinstance(raw, dict) else raw
        if not isinstance(items, list):
            raise ValueError("not a list")
    except (ValueError, TypeError):
        return JsonResponse(
            {"error": _('同步数据格式有误（应为 JSON：{"surveys": [入户调查列表]}）。')}, status=400
        )
    if not items:
        return JsonResponse({"error": _("没有要同步的入户调查。")}, status=400)
    try:
        result = do_sync_surveys(items, actor=request.user)
    except DomainError as exc:
        return JsonResponse({"error": exc.message}, status=exc.status)
    return JsonResponse(
        {"outcomes": [o.as_dict() for o in result.outcomes]},
        json_dumps_params={"ensure_ascii": False},
    )
