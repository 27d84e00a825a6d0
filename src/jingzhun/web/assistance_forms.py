"""Forms of the pairing pages (issue 21 item 2). Chinese source strings, English via locale/."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from jingzhun.assistance.choices import HELPER_KINDS, UNPAIRED_GROUPS
from jingzhun.assistance.importer import MAX_BYTES, MAX_ROWS

from .forms import LongSelect, set_choices

# Code labels of assistance.choices, translated where they are shown (`_()` and `{% translate %}`).
LABELS = (
    gettext_noop("县级领导干部"),
    gettext_noop("其他干部"),
    gettext_noop("建档立卡户"),
    gettext_noop("监测对象"),
)


def _helper_choices(helpers: list[Any], blank: Any) -> list[tuple[str, Any]]:
    return [("", blank)] + [
        (str(h.pk), f"{h.display_name or h.username}（{h.username}）") for h in helpers
    ]


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PairForm(forms.Form):
    household_code = forms.CharField(label=_("户编号"), max_length=32)
    helper = forms.ChoiceField(label=_("帮扶责任人"), widget=LongSelect)
    start_date = forms.DateField(label=_("开始日期"), widget=_date_input())

    def __init__(self, *args: Any, helpers: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "helper", _helper_choices(helpers, "—"))
        self.fields["start_date"].initial = timezone.localdate()


class EndPairingForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    end_date = forms.DateField(label=_("结束日期"), widget=_date_input())
    successor = forms.ChoiceField(label=_("接续的帮扶责任人"), required=False, widget=LongSelect)
    reason = forms.CharField(
        label=_("结束原因"),
        max_length=200,
        required=False,
        help_text=_("指定接续的帮扶责任人，或填写结束原因（至少其一）。"),
    )

    def __init__(self, *args: Any, helpers: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "successor", _helper_choices(helpers, _("（不指定）")))
        self.fields["end_date"].initial = timezone.localdate()


class HelperProfileForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, required=False)
    unit = forms.CharField(label=_("工作单位"), max_length=100)
    kind = forms.ChoiceField(
        label=_("职级类别"), choices=[(k, _(v)) for k, v in HELPER_KINDS.items()]
    )
    title = forms.CharField(label=_("职务"), max_length=50, required=False)


class TransferForm(forms.Form):
    successor = forms.ChoiceField(label=_("接续的帮扶责任人"), widget=LongSelect)
    on = forms.DateField(label=_("移交日期"), widget=_date_input())
    reason = forms.CharField(label=_("移交原因"), max_length=200)

    def __init__(self, *args: Any, helpers: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "successor", _helper_choices(helpers, "—"))
        self.fields["on"].initial = timezone.localdate()


class PairingFilterForm(forms.Form):
    region = forms.ChoiceField(label=_("区划"), required=False, widget=LongSelect)
    group = forms.ChoiceField(
        label=_("名单"),
        required=False,
        choices=[(k, _(v)) for k, v in UNPAIRED_GROUPS.items()],
    )

    def __init__(self, *args: Any, regions: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "region", [("", _("全部"))] + [(r.code, r.name) for r in regions])


class PairingImportForm(forms.Form):
    file = forms.FileField(label=_("结对表（.xlsx）"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "不超过 %(mb)s MB、%(rows)s 行；整份文件检查通过后才写入。"
        ) % {"mb": MAX_BYTES // 1024 // 1024, "rows": MAX_ROWS}
