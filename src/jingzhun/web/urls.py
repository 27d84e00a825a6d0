from django.urls import path

from . import account_views, views

app_name = "web"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("login/", account_views.login, name="login"),
    path("logout/", account_views.logout, name="logout"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("households/", views.household_list, name="households"),
    path("households/<int:household_id>/", views.household_detail, name="household"),
    path("households/<int:household_id>/export/", views.export_card, name="export_card"),
    path("exports/roster/", views.export_roster, name="export_roster"),
    path("exports/facts/", views.export_facts, name="export_facts"),
    path("exports/notice/", views.notice, name="notice"),
    path("imports/", views.import_upload, name="imports"),
    path("imports/<int:batch_id>/", views.import_detail, name="import"),
    path("imports/<int:batch_id>/commit/", views.import_commit, name="import_commit"),
    path("imports/<int:batch_id>/report/", views.import_report, name="import_report"),
    path("imports/<int:batch_id>/mapping/", views.import_mapping, name="import_mapping"),
    # accounts and security (issue 5): password, second factor, administrators, reveal
    path("account/password/", account_views.password_change, name="password_change"),
    path("account/2fa/setup/", account_views.otp_setup, name="otp_setup"),
    path("account/2fa/", account_views.otp_verify, name="otp_verify"),
    path("manage/users/", account_views.manage_users, name="manage_users"),
    path("manage/users/new/", account_views.manage_user_create, name="manage_user_create"),
    path("manage/users/<int:user_id>/", account_views.manage_user, name="manage_user"),
    path(
        "manage/users/<int:user_id>/active/",
        account_views.manage_user_active,
        name="manage_user_active",
    ),
    path(
        "manage/users/<int:user_id>/role/", account_views.manage_user_role, name="manage_user_role"
    ),
    path(
        "manage/users/<int:user_id>/regions/",
        account_views.manage_user_region,
        name="manage_user_region",
    ),
    path(
        "manage/users/<int:user_id>/otp-reset/",
        account_views.manage_user_otp_reset,
        name="manage_user_otp_reset",
    ),
    path("manage/locks/", account_views.manage_locks, name="manage_locks"),
    path("audit/", account_views.audit_log, name="audit_log"),
    path("households/<int:household_id>/reveal/", account_views.reveal, name="reveal"),
]
