"""Forms of the duty (调度) and ticket (诉求工单) pages (issue 24 items 1, 3). Chinese source
strings, English via locale/."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jingzhun.duty.choices import LEVELS, SCHEDULES, UNIT_KINDS
from jingzhun.inspection.choices import PROBLEM_CATEGORIES
from jingzhun.registry.choices import MONITORING_CATEGORY, RISK_TYPE
from jingzhun.tickets.choices import CATEGORIES, CHANNELS, SATISFACTION

from .forms import LongSelect
from .inspection_forms import _date, _regions


class TaskForm(forms.Form):
    region = forms.ChoiceField(label=_("任务所在区域"), widget=LongSelect)
    title = forms.CharField(label=_("任务"), max_length=200)
    description = forms.CharField(
        label=_("任务要求"), max_length=2000, widget=forms.Textarea, required=False
    )
    owner_unit = forms.CharField(label=_("责任单位"), max_length=100)
    owner_person = forms.CharField(label=_("责任人"), max_length=50)
    schedule = forms.ChoiceField(label=_("调度频次"), choices=list(SCHEDULES.items()))
    command_unit = forms.TypedChoiceField(
        label=_("牵头专班或领导"), coerce=int, required=False, empty_value=None
    )
    deadline = forms.DateField(
        label=_("完成时限（不填则按规则的工作日数）"), widget=_date(), required=False
    )

    def __init__(self, *args: Any, regions: list[Any], units: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = _regions(regions)  # type: ignore[attr-defined]
        self.fields["command_unit"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (u.pk, f"{u.kind_label}：{u.name}") for u in units
        ]


class ReportForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    progress = forms.IntegerField(label=_("进度（%）"), min_value=0, max_value=100)
    text = forms.CharField(label=_("进展情况"), max_length=2000, widget=forms.Textarea)
    difficulties = forms.CharField(label=_("困难和问题"), max_length=1000, required=False)


class UnitForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=list(UNIT_KINDS.items()))
    name = forms.CharField(label=_("名称"), max_length=100)
    region = forms.CharField(label=_("负责区域代码（县级可不填）"), max_length=12, required=False)
    leader_name = forms.CharField(label=_("负责人"), max_length=50)
    leader_title = forms.CharField(label=_("职务"), max_length=100, required=False)
    members = forms.CharField(label=_("成员单位或成员"), max_length=500, required=False)
    duties = forms.CharField(
        label=_("职责"), max_length=2000, required=False, widget=forms.Textarea
    )


class ResponsibilityForm(forms.Form):
    level = forms.ChoiceField(label=_("层级"), choices=list(LEVELS.items()))
    department = forms.CharField(label=_("责任单位"), max_length=100)
    item = forms.CharField(label=_("责任事项"), max_length=500)
    basis = forms.CharField(label=_("依据"), max_length=200, required=False)
    position = forms.IntegerField(label=_("序号"), min_value=0, required=False)


class TicketForm(forms.Form):
    channel = forms.ChoiceField(label=_("渠道"), choices=list(CHANNELS.items()))
    category = forms.ChoiceField(label=_("类别"), choices=list(CATEGORIES.items()))
    region = forms.ChoiceField(label=_("所在区域"), widget=LongSelect)
    household_code = forms.CharField(
        label=_("关联农户（户编号，可不填）"), max_length=40, required=False
    )
    requester_name = forms.CharField(label=_("诉求人"), max_length=50)
    requester_phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    content = forms.CharField(label=_("诉求内容"), max_length=2000, widget=forms.Textarea)
    reference = forms.CharField(
        label=_("原始编号（热线工单、信访件）"), max_length=40, required=False
    )
    received_on = forms.DateField(label=_("受理日期"), widget=_date())

    def __init__(self, *args: Any, regions: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = _regions(regions)  # type: ignore[attr-defined]


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class RouteForm(VersionForm):
    unit = forms.CharField(label=_("承办单位"), max_length=100)
    user = forms.TypedChoiceField(
        label=_("承办人账号"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args: Any, users: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (u.pk, u.display_name or u.username) for u in users
        ]


class ReplyForm(VersionForm):
    reply = forms.CharField(label=_("答复内容"), max_length=2000, widget=forms.Textarea)


class SatisfactionForm(VersionForm):
    satisfaction = forms.ChoiceField(label=_("诉求人评价"), choices=list(SATISFACTION.items()))


class CaseFromTicketForm(forms.Form):
    monitoring_category = forms.ChoiceField(
        label=_("监测类别"), choices=list(MONITORING_CATEGORY.items())
    )
    risk_types = forms.MultipleChoiceField(label=_("风险类型"), choices=list(RISK_TYPE.items()))


class ProblemFromTicketForm(forms.Form):
    inspection = forms.TypedChoiceField(label=_("督查"), coerce=int)
    category = forms.ChoiceField(label=_("问题类别"), choices=list(PROBLEM_CATEGORIES.items()))
    responsible_unit = forms.CharField(label=_("责任单位"), max_length=100)
    responsible_person = forms.CharField(label=_("责任人"), max_length=50)

    def __init__(self, *args: Any, inspections: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["inspection"].choices = [(i.pk, i.title) for i in inspections]  # type: ignore[attr-defined]


class ClueTicketForm(forms.Form):
    category = forms.ChoiceField(label=_("类别"), choices=list(CATEGORIES.items()))
