"""Forms of the web pages. Labels and messages are Chinese source strings (English via locale/)."""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.db import models
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.choices import BaseChoiceIterator
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from jingzhun.exports.models import UNMASKED_KINDS
from jingzhun.exports.notice import KINDS as NOTICE_KINDS
from jingzhun.exports.notice import MIN_DAYS
from jingzhun.registry import choices as c
from jingzhun.registry import dictionary
from jingzhun.registry.actions import LIST_CODES
from jingzhun.registry.idcard import mask as mask_id_number
from jingzhun.registry.masking import SENSITIVE_FIELDS, mask_value
from jingzhun.registry.models import Household, Member
from jingzhun.registry.selectors import HouseholdFilters
from jingzhun.web.labels import field_label

FIRST_YEAR = 2014  # registration (建档立卡) began in 2014


class LoginForm(AuthenticationForm):
    """Django's login form; one message for an unknown user and a wrong password (AUTH-2).

    Authentication goes through `access.actions.do_attempt_login`, which counts failures per
    canonical username and per IP, locks, and audits every attempt.
    """

    error_messages = {
        "invalid_login": _("用户名或密码不正确。"),
        "inactive": _("用户名或密码不正确。"),
        "locked": _("登录失败次数过多，该账号或地址已暂时锁定，请稍后再试或联系安全管理员。"),
    }

    def clean(self) -> dict[str, Any]:
        from jingzhun.access.actions import do_attempt_login
        from jingzhun.access.lockout import DEVICE_COOKIE, device_accounts
        from jingzhun.core.client import client_ip

        username = self.cleaned_data.get("username") or ""
        password = self.cleaned_data.get("password") or ""
        ip = client_ip(self.request) if self.request else ""
        cookie = self.request.COOKIES.get(DEVICE_COOKIE) if self.request else None
        outcome = do_attempt_login(
            self.request, username, password, ip, devices=device_accounts(cookie)
        )
        if outcome.user is None:
            code = "locked" if outcome.locked else "invalid_login"
            raise forms.ValidationError(self.error_messages[code], code=code)
        self.user_cache = outcome.user
        return self.cleaned_data

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("用户名")
        self.fields["password"].label = _("密码")


class LongSelect(forms.Select):
    """A <select> of many options (a county's ~800 villages) written in one pass: Django's
    widget templates render each option through its own template, about 1 ms a village
    (issue 26, B12). Same markup as forms.Select for flat choices and optgroups."""

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> Any:
        chosen = {str(v) for v in self.format_value(value)}
        built = {"name": name, **self.build_attrs(self.attrs, attrs)}

        def option(key: Any, label: Any) -> str:
            # html.escape: what django.utils.html.escape does, without its lazy-string wrapper
            # (a third of this loop's time over a county's villages)
            key = str(key)
            mark = " selected" if key in chosen else ""
            return f'<option value="{html.escape(key)}"{mark}>{html.escape(str(label))}</option>'

        parts = []
        for key, label in self.choices:
            if isinstance(label, (list, tuple)):
                inner = "".join(option(k, v) for k, v in label)
                parts.append(f'<optgroup label="{escape(key)}">{inner}</optgroup>')
            else:
                parts.append(option(key, label))
        return mark_safe(f"<select{flatatt(built)}>{''.join(parts)}</select>")  # noqa: S308 (escaped above)


class PlainChoices(BaseChoiceIterator):
    """Choices already in Django's normalised shape: (value, label) pairs and (group label,
    [pairs]) groups. Django walks and rebuilds any other list item by item (normalize_choices)
    on every form of every request, about 3 ms for a county's ~830 villages (issue 26, B12);
    an iterator of this class is taken as it is."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def set_choices(form: forms.Form, name: str, choices: list[Any]) -> None:
    """Set a choice field's choices, given as (value, label) pairs or (group, [pairs]) groups."""
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = PlainChoices(list(choices))


def year_choices() -> list[Any]:
    return [(y, y) for y in range(timezone.localdate().year, FIRST_YEAR - 1, -1)]


class OverviewForm(forms.Form):
    year = forms.TypedChoiceField(label=_("年度"), coerce=int, required=False)
    region = forms.RegexField(regex=r"^\d{12}$", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "year", year_choices())


# Status groups used by the overview's figures; the list filter offers them beside single statuses.
STATUS_GROUPS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "registered": (_("全部建档立卡户"), c.REGISTERED_STATUSES),
    "exited": (_("已脱贫(全部)"), c.EXITED_STATUSES),
    "remaining": (_("未脱贫及返贫"), c.REMAINING_STATUSES),
}


class HouseholdSearchForm(forms.Form):
    """Search and filters of the household list; the search term comes by POST only (PII-3)."""

    q = forms.CharField(label=_("查询"), required=False, max_length=50)
    township = forms.ChoiceField(label=_("乡镇"), required=False, widget=LongSelect)
    village = forms.ChoiceField(label=_("村"), required=False, widget=LongSelect)
    status = forms.ChoiceField(label=_("脱贫状态"), required=False, widget=LongSelect)
    attribute = forms.ChoiceField(label=_("贫困户属性"), required=False, widget=LongSelect)
    cause = forms.ChoiceField(label=_("主要致贫原因"), required=False, widget=LongSelect)
    # keyset pages (core.paging): the household code after which, or before which, a page starts
    after = forms.CharField(required=False, max_length=32)
    before = forms.CharField(required=False, max_length=32)

    def __init__(self, *args: Any, regions: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everything = [("", _("全部"))]
        townships = [(r.code, r.name) for r in regions if r.level == "township"]
        names = dict(townships)
        villages: dict[str, list[tuple[str, str]]] = {}
        for r in regions:
            if r.level == "village":
                villages.setdefault(names.get(r.code[:9] + "000", ""), []).append((r.code, r.name))
        set_choices(self, "township", everything + townships)
        set_choices(
            self, "village", everything + [(g, list(items)) for g, items in villages.items()]
        )
        set_choices(
            self,
            "status",
            everything
            + [(key, label) for key, (label, _statuses) in STATUS_GROUPS.items()]
            + [(key, _(label)) for key, label in c.POVERTY_STATUS.items()],
        )
        set_choices(self, "attribute", everything + [(k, _(v)) for k, v in c.ATTRIBUTE.items()])
        set_choices(self, "cause", everything + [(k, _(v)) for k, v in c.CAUSE.items()])

    def filters(self) -> HouseholdFilters:
        """The selector's filters; a status group stands for its statuses."""
        data = self.cleaned_data
        status = data.get("status") or ""
        group = STATUS_GROUPS.get(status)
        filters = HouseholdFilters(
            q=(data.get("q") or "").strip(),
            township=data.get("township") or "",
            village=data.get("village") or "",
            status="" if group else status,
            attribute=data.get("attribute") or "",
            cause=data.get("cause") or "",
            statuses=group[1] if group else (),
        )
        return filters


MAX_UPLOAD_BYTES = 50 * 1024 * 1024
UPLOAD_SUFFIXES = (".xlsx", ".xls", ".csv")


class ImportUploadForm(forms.Form):
    """One registration form file; its content decides the format, the name only screens typos."""

    file = forms.FileField(label=_("文件（.xlsx、.xls 或 .csv）"))
    income_year = forms.IntegerField(
        label=_("收入年度"),
        required=False,
        min_value=2000,
        max_value=9999,
        help_text=_("文件有收入列、却没有“年度”列且标题中未写明年度时填写"),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not str(upload.name).lower().endswith(UPLOAD_SUFFIXES):
            raise forms.ValidationError(_("只能导入 .xlsx、.xls 或 .csv 文件。"))
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("文件超过 50 MB，请拆分后导入。"))
        return upload


class NoticeForm(forms.Form):
    """A village posting notice (公示): which village, what kind, when and for how long."""

    village = forms.ChoiceField(label=_("村"), widget=LongSelect)
    kind = forms.ChoiceField(label=_("公示类型"))
    start = forms.DateField(label=_("公示开始日期"), widget=forms.DateInput(attrs={"type": "date"}))
    days = forms.IntegerField(label=_("公示天数"), min_value=MIN_DAYS, max_value=60, initial=7)
    issuer = forms.CharField(label=_("落款单位"), required=False, max_length=60)

    def __init__(self, *args: Any, villages: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "village", [("", _("请选择"))] + [(r.code, r.name) for r in villages])
        set_choices(self, "kind", [(k, _(v)) for k, v in NOTICE_KINDS.items()])
        self.fields["start"].initial = timezone.localdate()


class UnmaskedRequestForm(forms.Form):
    """A request for one unmasked export (PII-4): what, of which region or household, and why."""

    kind = forms.ChoiceField(label=_("导出内容"))
    region = forms.ChoiceField(
        label=_("区划范围（花名册、户数据）"), required=False, widget=LongSelect
    )
    household_code = forms.CharField(label=_("户编号（明白卡）"), required=False, max_length=30)
    reason = forms.CharField(
        label=_("申请理由"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, regions: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "kind", [(k, _(v)) for k, v in UNMASKED_KINDS.items()])
        set_choices(self, "region", [("", _("请选择"))] + [(r.code, r.name) for r in regions])


# --- editing a household or a member (the card's 编辑 pages) ---------------------------------

# The fields of the edit pages are the dictionary's (registry.dictionary: `appears` has "form",
# all of them `editable`): not those the workflows own (status, identification, monitoring and
# risk change through their cases), nor the code, village and head (the head changes with the
# members).
HOUSEHOLD_FORM_FIELDS = dictionary.keys("household", on="form")
# The ID number is corrected through `new_id_number` (sex and birth date follow from it).
MEMBER_FORM_FIELDS = tuple(k for k in dictionary.keys("member", on="form") if k != "id_number")
KEEP = _("（不修改）")


def _yes_no_unknown() -> forms.NullBooleanSelect:
    """是 / 否 / — (unknown is not 'no'), as the card shows these fields."""
    widget = forms.NullBooleanSelect()
    widget.choices = [("unknown", "—"), ("true", _("是")), ("false", _("否"))]
    return widget


def _model_form_field(model: type[models.Model], name: str, shown: Any) -> forms.Field:
    """A form field for a model field: its Chinese verbose name as label (translated), choices
    from the code tables. A sensitive field is never filled in (`shown` is its masked value)
    and left empty keeps its value."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    entry = dictionary.FIELDS[name]
    label = field_label(name)
    sensitive = name in SENSITIVE_FIELDS
    help_text = _("当前：%(value)s；不修改请留空。") % {"value": shown or "—"} if sensitive else ""
    form_field: forms.Field
    if name in LIST_CODES:
        table, _most = LIST_CODES[name]
        form_field = forms.MultipleChoiceField(
            choices=[(k, _(v)) for k, v in table.items()],
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )
    elif field.choices:
        first = [("", KEEP if sensitive else "—")] if field.blank or sensitive else []
        form_field = forms.ChoiceField(
            choices=[*first, *((str(k), _(str(v))) for k, v in field.choices)],
            required=not (field.blank or sensitive),
        )
    elif isinstance(field, models.BooleanField):
        form_field = (
            forms.NullBooleanField(widget=_yes_no_unknown())
            if field.null
            else forms.BooleanField(required=False)
        )
    elif isinstance(field, models.DecimalField):
        form_field = forms.DecimalField(
            max_digits=field.max_digits,
            decimal_places=field.decimal_places,
            min_value=0,
            required=False,
        )
    elif isinstance(field, models.PositiveSmallIntegerField):
        low = 0 if entry.low is None else entry.low
        high = 32767 if entry.high is None else entry.high
        form_field = forms.IntegerField(min_value=low, max_value=high, required=False)
    else:
        form_field = forms.CharField(
            # an encrypted field's column holds the token: the plaintext's limit
            max_length=getattr(field, "plain_max_length", None) or field.max_length,
            required=not (field.blank or sensitive),
        )
    form_field.label = label
    form_field.help_text = help_text
    return form_field


class RecordEditForm(forms.Form):
    """The fields `names` of a household or member, with the version the page was read at
    (optimistic locking). `changes()` is what differs from the stored record."""

    version = forms.IntegerField(min_value=0, widget=forms.HiddenInput)

    def __init__(self, data: Any, *, instance: Any, names: tuple[str, ...]) -> None:
        self.instance, self.names = instance, names
        initial: dict[str, Any] = {"version": instance.version}
        for name in names:
            if name not in SENSITIVE_FIELDS:
                initial[name] = getattr(instance, name)
        super().__init__(data, initial=initial)
        for name in names:
            current = getattr(instance, name)
            shown = mask_value(name, current)
            self.fields[name] = _model_form_field(type(instance), name, shown)
            if name in SENSITIVE_FIELDS and self._clearable(name) and current not in (None, ""):
                # left empty, a sensitive field keeps its value: clearing it is said explicitly
                self.fields[f"clear_{name}"] = forms.BooleanField(
                    label=format_lazy(_("清除“{}”"), self.fields[name].label),
                    required=False,
                )

    def _clearable(self, name: str) -> bool:
        field = type(self.instance)._meta.get_field(name)
        return bool(getattr(field, "blank", False))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in self.names:
            if data.get(f"clear_{name}") and data.get(name) not in (None, ""):
                self.add_error(name, _("不能同时填写新值并清除，请只选一项。"))
        return data

    def changes(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.names:
            value = self.cleaned_data.get(name)
            if self.cleaned_data.get(f"clear_{name}"):
                field = type(self.instance)._meta.get_field(name)
                out[name] = None if getattr(field, "null", False) else ""
                continue
            if name in SENSITIVE_FIELDS and value in (None, ""):
                continue  # a sensitive field left empty keeps its value
            if value != getattr(self.instance, name):
                out[name] = value
        return out


class HouseholdEditForm(RecordEditForm):
    def __init__(self, data: Any, *, household: Household) -> None:
        super().__init__(data, instance=household, names=HOUSEHOLD_FORM_FIELDS)


class MemberEditForm(RecordEditForm):
    """A member's fields; the head's relation is not offered (the head changes through a
    natural change), nor may another member become head here. A corrected ID number brings
    the sex and birth date it encodes."""

    new_id_number = forms.CharField(label=_("更正证件号码"), max_length=20, required=False)

    def __init__(self, data: Any, *, member: Member) -> None:
        head = member.relation == "head"
        names = tuple(n for n in MEMBER_FORM_FIELDS if not (head and n == "relation"))
        super().__init__(data, instance=member, names=names)
        if not head:
            relation = self.fields["relation"]
            assert isinstance(relation, forms.ChoiceField)
            relation.choices = [(k, _(v)) for k, v in c.RELATION.items() if k != "head"]
        self.fields["new_id_number"].help_text = _(
            "当前：%(value)s。只在证件号码登记有误时填写，性别和出生日期随新号码更正；不修改请留空。"
        ) % {"value": mask_id_number(member.id_number)}

    def changes(self) -> dict[str, Any]:
        out = super().changes()
        new_id = (self.cleaned_data.get("new_id_number") or "").strip()
        if new_id:
            out.update(id_number=new_id, sex="", birth_date="")
        return out
