from django.urls import path

from . import views, workflow_views

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
    # workflows (workflow_views.py)
    path("cases/", workflow_views.case_inbox, name="cases"),
    path("cases/new/", workflow_views.case_new, name="case_new"),
    path("cases/<int:case_id>/", workflow_views.case_detail, name="case"),
    path("cases/<int:case_id>/move/", workflow_views.case_move, name="case_move"),
    path("cases/<int:case_id>/evidence/", workflow_views.case_evidence, name="case_evidence"),
    path("cases/<int:case_id>/checklist/", workflow_views.case_checklist, name="case_checklist"),
    path("cases/<int:case_id>/assess/", workflow_views.case_assess, name="case_assess"),
    path("evidence/<int:evidence_id>/", workflow_views.case_evidence_file, name="evidence_file"),
    path("postings/", workflow_views.posting_list, name="postings"),
    path("rounds/", workflow_views.round_list, name="rounds"),
    path("rounds/<int:round_id>/", workflow_views.round_detail, name="round"),
    path("rounds/<int:round_id>/close/", workflow_views.round_close, name="round_close"),
]
