"""Forms of the account pages: password change, second factor, administrators' pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jingzhun.access.models import ROLE_LABELS


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label=_("原密码"), widget=forms.PasswordInput, max_length=128)
    new_password = forms.CharField(label=_("新密码"), widget=forms.PasswordInput, max_length=128)
    new_password2 = forms.CharField(
        label=_("再次输入新密码"), widget=forms.PasswordInput, max_length=128
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_password") != data.get("new_password2"):
            raise forms.ValidationError(_("两次输入的新密码不一致。"))
        return data


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("验证码"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150)
    display_name = forms.CharField(label=_("姓名"), max_length=50, required=False)
    password = forms.CharField(label=_("初始密码"), widget=forms.PasswordInput, max_length=128)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("角色"), choices=list(ROLE_LABELS.items()))
    reason = forms.CharField(label=_("原因"), max_length=500, required=False)


class RegionGrantForm(forms.Form):
    region = forms.RegexField(label=_("区划代码"), regex=r"^\d{12}$")
    grant = forms.ChoiceField(choices=[("grant", "grant"), ("revoke", "revoke")])
    reason = forms.CharField(label=_("原因"), max_length=500, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=500)


class AuditSearchForm(forms.Form):
    since = forms.DateTimeField(label=_("开始时间"), required=False)
    until = forms.DateTimeField(label=_("结束时间"), required=False)
    actor = forms.CharField(label=_("操作人账号"), max_length=150, required=False)
    event = forms.CharField(label=_("事件"), max_length=64, required=False)
    object_type = forms.CharField(label=_("对象类型"), max_length=64, required=False)
    object_id = forms.CharField(label=_("对象编号"), max_length=64, required=False)


class RevealForm(forms.Form):
    field = forms.ChoiceField(
        label=_("字段"),
        choices=[
            ("phone", _("联系电话")),
            ("bank_account", _("银行账号")),
            ("id_number", _("证件号码")),
            ("health_status", _("健康状况")),
        ],
    )
    member = forms.IntegerField(required=False, min_value=1)
    reason = forms.CharField(label=_("查看原因"), max_length=500, min_length=4)
