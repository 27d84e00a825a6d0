"""Forms of the inspection pages (issue 24 item 2). Chinese source strings, English via locale/."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jingzhun.inspection.choices import (
    ACCOUNTABILITY_MEASURES,
    INSPECTION_KINDS,
    PROBLEM_CATEGORIES,
)

from .forms import LongSelect


def _date() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _regions(regions: list[Any]) -> list[tuple[str, str]]:
    return [(r.code, f"{r.name}（{r.code}）") for r in regions]


class InspectionForm(forms.Form):
    kind = forms.ChoiceField(label=_("督查类型"), choices=list(INSPECTION_KINDS.items()))
    title = forms.CharField(label=_("名称"), max_length=200)
    region = forms.ChoiceField(label=_("督查区域"), widget=LongSelect)
    organiser = forms.CharField(label=_("组织单位"), max_length=100)
    document = forms.CharField(label=_("文件或反馈文号"), max_length=100, required=False)
    started_on = forms.DateField(label=_("督查日期"), widget=_date())

    def __init__(self, *args: Any, regions: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = _regions(regions)  # type: ignore[attr-defined]


class ProblemForm(forms.Form):
    category = forms.ChoiceField(label=_("问题类别"), choices=list(PROBLEM_CATEGORIES.items()))
    description = forms.CharField(label=_("问题描述"), max_length=2000, widget=forms.Textarea)
    region = forms.ChoiceField(label=_("问题所在区域"), widget=LongSelect)
    household_code = forms.CharField(label=_("涉及农户（户编号）"), max_length=40, required=False)
    unit = forms.CharField(label=_("涉及单位"), max_length=100, required=False)
    responsible_unit = forms.CharField(label=_("责任单位"), max_length=100)
    responsible_person = forms.CharField(label=_("责任人"), max_length=50)
    found_on = forms.DateField(label=_("发现日期"), widget=_date())
    deadline = forms.DateField(
        label=_("整改期限（不填则按规则的工作日数）"), widget=_date(), required=False
    )

    def __init__(self, *args: Any, regions: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = _regions(regions)  # type: ignore[attr-defined]


class RectificationForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    description = forms.CharField(label=_("整改情况"), max_length=2000, widget=forms.Textarea)


class VerificationForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    passed = forms.TypedChoiceField(
        label=_("核验结论"),
        choices=[("1", _("整改到位")), ("0", _("整改不到位，退回"))],
        coerce=lambda v: v == "1",
    )
    note = forms.CharField(label=_("核验意见"), max_length=500)


class AccountabilityForm(forms.Form):
    person_name = forms.CharField(label=_("被问责人"), max_length=50)
    position = forms.CharField(label=_("职务"), max_length=100)
    unit = forms.CharField(label=_("单位"), max_length=100)
    measure = forms.ChoiceField(label=_("问责方式"), choices=list(ACCOUNTABILITY_MEASURES.items()))
    decided_on = forms.DateField(label=_("决定日期"), widget=_date())
    authority = forms.CharField(label=_("决定机关"), max_length=100)
    document = forms.CharField(label=_("文号"), max_length=100, required=False)
    note = forms.CharField(label=_("说明"), max_length=500, required=False)
