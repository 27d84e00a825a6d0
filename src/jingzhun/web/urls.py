from django.urls import path

from . import dashboard_views, views

app_name = "web"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
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
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("dashboard/refresh/", dashboard_views.dashboard_refresh, name="dashboard_refresh"),
    path("dashboard/jobs/<int:job_id>/", dashboard_views.dashboard_job, name="dashboard_job"),
    path("dashboard/export/", dashboard_views.dashboard_export, name="dashboard_export"),
    path(
        "dashboard/boundaries/", dashboard_views.dashboard_boundaries, name="dashboard_boundaries"
    ),
]
