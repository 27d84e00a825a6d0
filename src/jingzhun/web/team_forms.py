"""Forms of the work-team pages (issue 21 item 1). Chinese source strings, English via locale/."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from jingzhun.assistance.choices import TEAM_ROLES

# Code labels of assistance.choices.TEAM_ROLES, translated where they are shown.
LABELS = (gettext_noop("队长"), gettext_noop("第一书记"), gettext_noop("队员"))


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _accounts(accounts: list[Any]) -> list[tuple[str, str]]:
    return [("", "—")] + [
        (str(u.pk), f"{u.display_name or u.username}（{u.username}）") for u in accounts
    ]


class TeamForm(forms.Form):
    sending_units = forms.CharField(label=_("派出单位"), max_length=200)
    term_start = forms.DateField(label=_("任期开始日期"), widget=_date_input())
    term_end = forms.DateField(label=_("任期结束日期"), widget=_date_input())


class MemberForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    name = forms.CharField(label=_("姓名"), max_length=50, required=False)
    sending_unit = forms.CharField(label=_("派出单位"), max_length=100)
    role = forms.ChoiceField(label=_("队内职务"), choices=list(TEAM_ROLES.items()))
    user = forms.ChoiceField(label=_("账号（需要打卡时）"), required=False)
    start_date = forms.DateField(label=_("任期开始日期"), widget=_date_input())
    term_end = forms.DateField(label=_("任期结束日期"), widget=_date_input())

    def __init__(self, *args: Any, accounts: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["user"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = _accounts(accounts)
        self.fields["start_date"].initial = timezone.localdate()


class CheckInForm(forms.Form):
    day = forms.DateField(label=_("日期"), widget=_date_input())
    note = forms.CharField(label=_("备注"), max_length=200, required=False)


class RotateForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    end_date = forms.DateField(label=_("离任日期"), widget=_date_input())
    handover_note = forms.CharField(label=_("交接说明"), max_length=2000, widget=forms.Textarea)
    successor_name = forms.CharField(label=_("接任人姓名"), max_length=50, required=False)
    successor_unit = forms.CharField(label=_("接任人派出单位"), max_length=100, required=False)
    successor_user = forms.ChoiceField(label=_("接任人账号"), required=False)
    successor_term_end = forms.DateField(
        label=_("接任人任期结束日期"), widget=_date_input(), required=False
    )

    def __init__(self, *args: Any, accounts: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["successor_user"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = _accounts(accounts)
        self.fields["end_date"].initial = timezone.localdate()
