"""Forms of the village and county exit pages (issue 24 item 5)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

YES_NO = [("", _("未填（未知）")), ("1", _("是")), ("0", _("否"))]


class YesNoField(forms.TypedChoiceField):
    def __init__(self, label: Any) -> None:
        super().__init__(
            label=label,
            choices=YES_NO,
            required=False,
            coerce=lambda v: v == "1",
            empty_value=None,
        )


class VillageConditionsForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, required=False)
    hardened_road = YesNoField(_("通村公路已硬化"))
    safe_water = YesNoField(_("饮水安全达标"))
    power = YesNoField(_("生产生活用电有保障"))
    broadcast_tv = YesNoField(_("广播电视户户通"))
    culture_center = YesNoField(_("有综合性文化服务中心"))
    clinic = YesNoField(_("有标准化卫生室和合格村医"))
    broadband = YesNoField(_("通宽带"))
    collective_income = forms.DecimalField(
        label=_("村集体经济收入（元）"),
        required=False,
        min_value=0,
        max_value=9999999999,
        decimal_places=2,
        max_digits=12,
    )
    note = forms.CharField(label=_("说明"), max_length=200, required=False)
