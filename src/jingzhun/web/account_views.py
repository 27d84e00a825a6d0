"""Account pages: login and logout (audited), password change, second factor (TOTP), the
administrators' pages (accounts, grants, lockouts, audit log) and the reveal of a masked field.

The three administrators are kept apart (AUTHZ-3): the system administrator creates and disables
accounts, the security administrator grants roles, regions and households and resets second
factors, the audit administrator reads the audit log. None of them reaches household data.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import LoginView, LogoutView
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from jingzhun.access.actions import (
    do_change_password,
    do_confirm_otp_enrolment,
    do_create_user,
    do_grant_region,
    do_release_lock,
    do_reset_otp,
    do_revoke_region,
    do_set_role,
    do_set_user_active,
    do_start_otp_enrolment,
    do_verify_otp,
)
from jingzhun.access.lockout import (
    DEVICE_COOKIE,
    DEVICE_MAX_AGE,
    canonical_username,
    device_cookie,
)
from jingzhun.access.models import ADMIN_ROLES, AccountLock, RegionGrant, User
from jingzhun.access.second_factor import has_second_factor
from jingzhun.audit.actions import (
    AuditQuery,
    do_search_audit_events,
    record_now,
    record_out_of_scope,
)
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.registry.actions import do_reveal_sensitive_field

from .account_forms import (
    AuditSearchForm,
    PasswordChangeForm,
    ReasonForm,
    RegionGrantForm,
    RevealForm,
    RoleForm,
    TokenForm,
    UserCreateForm,
)
from .forms import LoginForm
from .middleware import LOGIN_AT
from .policies import account, administrator, authenticated, public
from .qr import qr_figure

HOME_BY_ROLE = {
    "sysadmin": "web:manage_users",
    "secadmin": "web:manage_users",
    "auditadmin": "web:audit_log",
}


def home_for(user: Any) -> str:
    """Where an account starts: the administrators' own pages, or the overview."""
    return HOME_BY_ROLE.get(getattr(user, "role", ""), "web:overview")


class JingzhunLoginView(LoginView):
    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        self.request.session[LOGIN_AT] = timezone.now().timestamp()
        # This browser becomes a known device of the account: an address lock (a shared
        # address's failures) does not refuse it later (AUTH-2, access.lockout).
        response.set_cookie(
            DEVICE_COOKIE,
            device_cookie(
                self.request.COOKIES.get(DEVICE_COOKIE),
                canonical_username(self.request.user.get_username()),
            ),
            max_age=DEVICE_MAX_AGE,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
        return response

    def get_default_redirect_url(self) -> str:
        from django.urls import reverse

        return reverse(home_for(self.request.user))

    def get_redirect_url(self, request: HttpRequest | None = None) -> str:
        # An administrator is never sent on to a business page by a `next` parameter.
        if getattr(self.request.user, "role", "") in ADMIN_ROLES:
            return ""
        return super().get_redirect_url()


class JingzhunLogoutView(LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            record_now(
                "access.logout", actor=request.user, object_type="user", object_id=request.user.pk
            )
        response = super().post(request, *args, **kwargs)
        # What the browser keeps of this origin goes with the session: the field pages' cached
        # copy and queued visits (ADR "visits-offline"; the page warns first if visits are queued).
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response


login = public(sensitive_post_parameters("password")(JingzhunLoginView.as_view()))
logout = public(JingzhunLogoutView.as_view())


# --- password (AUTH-1) -------------------------------------------------------------------------


@account
@sensitive_post_parameters("old_password", "new_password", "new_password2")
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    """Change one's own password; reached before anything else once the password is too old."""
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            changed = do_change_password(
                request.user,  # type: ignore[arg-type]
                form.cleaned_data["old_password"],
                form.cleaned_data["new_password"],
                actor=request.user,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            from django.contrib.auth import update_session_auth_hash

            update_session_auth_hash(request, changed)
            messages.success(request, _("密码已修改。"))
            return redirect(home_for(request.user))
    status = 400 if form.errors else 200
    return render(request, "web/password_change.html", {"form": form}, status=status)


# --- second factor (AUTH-3) -------------------------------------------------------------------


@account
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: show the secret, confirm with a first code, show backup codes."""
    try:
        device = do_start_otp_enrolment(actor=request.user)
    except DomainError:
        return redirect("web:otp_verify")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            confirmed, codes = do_confirm_otp_enrolment(
                form.cleaned_data["token"], actor=request.user
            )
        except DomainError as exc:
            form.add_error("token", exc.message)
        else:
            otp_login(request, confirmed)
            return render(
                request,
                "web/otp_backup_codes.html",
                {"codes": codes, "home": home_for(request.user)},
            )
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode("ascii")
    uri = device.config_url
    context = {
        "form": form,
        "secret": secret,
        "config_url": uri,
        "qr": qr_figure(uri, title=_("认证器二维码")),
    }
    return render(request, "web/otp_setup.html", context, status=400 if form.errors else 200)


@account
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    """Second step of the login: a code from the authenticator app, or a backup code."""
    if not has_second_factor(request.user):
        return redirect("web:otp_setup")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = do_verify_otp(form.cleaned_data["token"], actor=request.user)
        if device is not None:
            otp_login(request, device)
            return redirect(home_for(request.user))
        form.add_error("token", _("验证码不正确或已使用。"))
    return render(
        request, "web/otp_verify.html", {"form": form}, status=400 if form.errors else 200
    )


# --- administrators: accounts and grants (AUTHZ-3) ---------------------------------------------


def _refused(exc: DomainError) -> HttpResponseBase:
    if isinstance(exc, Forbidden):
        raise PermissionDenied(exc.message) from exc
    raise Http404(exc.message) from exc


@administrator("sysadmin", "secadmin")
@require_http_methods(["GET"])
def manage_users(request: HttpRequest) -> HttpResponse:
    """Accounts with their role, state and region grants (no household data)."""
    users = User.objects.order_by("username").prefetch_related(
        Prefetch("grants", queryset=RegionGrant.objects.select_related("region"))
    )
    context = {"users": users, "create_form": UserCreateForm(), "nav": "manage"}
    return render(request, "web/manage_users.html", context)


@administrator("sysadmin")
@sensitive_post_parameters("password")
@require_http_methods(["POST"])
def manage_user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST)
    if form.is_valid():
        try:
            user = do_create_user(
                form.cleaned_data["username"],
                form.cleaned_data["password"],
                form.cleaned_data["display_name"],
                actor=request.user,
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("账号已创建，请安全管理员授予角色。") + f" {user.username}")
    else:
        messages.error(request, _("请完整填写用户名和初始密码。"))
    return redirect("web:manage_users")


def _user_or_404(user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise Http404(_("账号不存在。"))
    return user


@administrator("sysadmin", "secadmin")
@require_http_methods(["GET"])
def manage_user(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _user_or_404(user_id)
    from django_otp import user_has_device

    context = {
        "account": user,
        "grants": user.grants.select_related("region").order_by("region_id"),
        "role_form": RoleForm(initial={"role": user.role}),
        "region_form": RegionGrantForm(),
        "reason_form": ReasonForm(),
        "has_otp": user_has_device(user, confirmed=True),
        "nav": "manage",
    }
    return render(request, "web/manage_user.html", context)


def _run(request: HttpRequest, user_id: int, action: Any, done: str) -> HttpResponse:
    try:
        action()
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("web:manage_user", user_id=user_id)


@administrator("sysadmin")
@require_http_methods(["POST"])
def manage_user_active(request: HttpRequest, user_id: int) -> HttpResponse:
    _user_or_404(user_id)
    active = request.POST.get("active") == "1"
    reason = request.POST.get("reason", "")[:500]
    return _run(
        request,
        user_id,
        lambda: do_set_user_active(user_id, active, actor=request.user, reason=reason),
        _("账号已启用。") if active else _("账号已停用。"),
    )


@administrator("secadmin")
@require_http_methods(["POST"])
def manage_user_role(request: HttpRequest, user_id: int) -> HttpResponse:
    _user_or_404(user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择角色。"))
        return redirect("web:manage_user", user_id=user_id)
    data = form.cleaned_data
    return _run(
        request,
        user_id,
        lambda: do_set_role(user_id, data["role"], actor=request.user, reason=data["reason"]),
        _("角色已修改。"),
    )


@administrator("secadmin")
@require_http_methods(["POST"])
def manage_user_region(request: HttpRequest, user_id: int) -> HttpResponse:
    _user_or_404(user_id)
    form = RegionGrantForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写 12 位区划代码。"))
        return redirect("web:manage_user", user_id=user_id)
    data = form.cleaned_data
    action = do_grant_region if data["grant"] == "grant" else do_revoke_region
    return _run(
        request,
        user_id,
        lambda: action(user_id, data["region"], actor=request.user, reason=data["reason"]),
        _("区域权限已修改。"),
    )


@administrator("secadmin")
@require_http_methods(["POST"])
def manage_user_otp_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    _user_or_404(user_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写重置原因。"))
        return redirect("web:manage_user", user_id=user_id)
    reason = form.cleaned_data["reason"]
    return _run(
        request,
        user_id,
        lambda: do_reset_otp(user_id, actor=request.user, reason=reason),
        _("双因素认证已重置，该用户下次登录时需重新设置。"),
    )


@administrator("secadmin")
@require_http_methods(["GET", "POST"])
def manage_locks(request: HttpRequest) -> HttpResponse:
    """Lockouts in force; the security administrator may release one early (audited)."""
    if request.method == "POST":
        lock_id = request.POST.get("lock", "")
        # isdigit() accepts other scripts' digits ("١٢") and superscripts; only ASCII is an id.
        if not (lock_id.isascii() and lock_id.isdigit()):
            return HttpResponseBadRequest(_("锁定编号无效。"))
        try:
            do_release_lock(
                int(lock_id), actor=request.user, reason=request.POST.get("reason", "")[:500]
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已解除锁定。"))
        return redirect("web:manage_locks")
    locks = AccountLock.objects.filter(until__gt=timezone.now(), released_at__isnull=True).order_by(
        "-locked_at"
    )
    return render(request, "web/manage_locks.html", {"locks": locks, "nav": "locks"})


# --- audit administrator (AUDIT-1) ---------------------------------------------------------------


@administrator("auditadmin")
@require_http_methods(["GET"])
def audit_log(request: HttpRequest) -> HttpResponse:
    """Search the audit log by time range, actor, event and object; each search is itself audited."""
    form = AuditSearchForm(request.GET or None)
    rows: list[Any] = []
    searched = False
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        query = AuditQuery(
            since=data["since"],
            until=data["until"],
            actor=data["actor"],
            event=data["event"],
            object_type=data["object_type"],
            object_id=data["object_id"],
        )
        try:
            rows = do_search_audit_events(query, actor=request.user)
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
        searched = True
    status = 400 if form.is_bound and form.errors else 200
    context = {"form": form, "rows": rows, "searched": searched, "nav": "audit"}
    return render(request, "web/audit_log.html", context, status=status)


# --- reveal a masked field (PII-1) ------------------------------------------------------------------


@authenticated
@require_http_methods(["POST"])
def reveal(request: HttpRequest, household_id: int) -> HttpResponse:
    """The full value of one masked field, with a reason; needs the unmasked-data permission.

    JSON for scripts; the household card's "查看" buttons post with HTMX and get the field's slot
    back as HTML (the value, or the form again with the reason it was refused)."""
    form = RevealForm(request.POST)
    htmx = bool(request.headers.get("HX-Request"))
    if not form.is_valid():
        message = _("请选择字段并填写查看原因（至少 4 个字）。")
        if htmx and form.cleaned_data.get("field"):
            return _reveal_slot(request, household_id, form.cleaned_data, error=message)
        return JsonResponse({"detail": message}, status=400)
    data = form.cleaned_data
    try:
        value = do_reveal_sensitive_field(
            household_id,
            data["field"],
            data["reason"],
            actor=request.user,
            member_id=data["member"],
        )
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        if htmx:
            return _reveal_slot(request, household_id, data, error=exc.message)
        return JsonResponse({"detail": exc.message}, status=400)
    if htmx:
        return _reveal_slot(request, household_id, data, value=value)
    return JsonResponse({"field": data["field"], "value": value})


def _masked(user: Any, household_id: int, field: str, member_id: int | None) -> str:
    """The field's masked form, read through the scoped selector (out of scope: 404)."""
    from jingzhun.registry.masking import mask_value
    from jingzhun.registry.selectors import household_for

    try:
        household = household_for(user, household_id)
    except OutOfScope as exc:
        raise Http404(exc.message) from exc
    if member_id is None:
        return str(mask_value(field, getattr(household, field, "")) or "")
    member = household.members.filter(pk=member_id).first()
    if member is None:
        raise Http404(_("未找到该成员，或您无权访问。"))
    return str(mask_value(field, getattr(member, field, "")) or "")


def _reveal_slot(
    request: HttpRequest,
    household_id: int,
    data: dict[str, Any],
    *,
    value: str = "",
    error: str = "",
) -> HttpResponse:
    """The content of one masked field's slot on the card: the revealed value, or (refused with
    400) the masked value and the form open with the message. Never cached."""
    field = data["field"]
    if field == "health_status" and value:
        from jingzhun.registry.choices import HEALTH_STATUS

        value = _(HEALTH_STATUS.get(value, value))
    context = {
        "field": field,
        "household_id": household_id,
        "member_id": data.get("member"),
        "masked": _masked(request.user, household_id, field, data.get("member")) if error else "",
        "may_reveal": bool(getattr(request.user, "may_export_unmasked", False)),
        "value": value,
        "error": error,
    }
    response = render(request, "web/_reveal.html", context, status=400 if error else 200)
    response["Cache-Control"] = "no-store"
    return response


# --- refusals are audited too (AUDIT-1) -------------------------------------------------------


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler403: record the refusal (who, which path), then Django's plain 403 page."""
    from django.views.defaults import permission_denied as django_permission_denied

    user = request.user if request.user.is_authenticated else None
    record_now(
        "access.request.denied",
        actor=user,
        object_type="path",
        object_id=request.path[:64],
        outcome="refused",
        diff={"method": request.method},
    )
    return django_permission_denied(request, exception)  # type: ignore[arg-type]


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: a 404 that answers an out-of-scope request (a view's `Http404` raised from
    `OutOfScope`) is audited as a denied attempt (rate-limited); then Django's 404 page."""
    from django.views.defaults import page_not_found as django_page_not_found

    if exception is not None and isinstance(exception.__cause__, OutOfScope):
        match = request.resolver_match
        record_out_of_scope(
            request.user,
            route=match.view_name if match else "path",
            path=request.path,
            method=request.method or "",
        )
    return django_page_not_found(request, exception)
