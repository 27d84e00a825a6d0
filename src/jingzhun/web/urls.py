from django.urls import path

from . import (
    account_views,
    asset_views,
    assistance_views,
    board_views,
    credit_views,
    dashboard_views,
    duty_views,
    exit_views,
    feed_review_views,
    feed_views,
    fieldsurvey_views,
    governance_board_views,
    inspection_views,
    measure_views,
    money_board_views,
    points_views,
    project_views,
    report_views,
    scoring_views,
    selfcheck_views,
    team_views,
    ticket_views,
    views,
    visit_views,
    workflow_views,
)

app_name = "web"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("login/", account_views.login, name="login"),
    path("logout/", account_views.logout, name="logout"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("households/", views.household_list, name="households"),
    path("households/<int:household_id>/", views.household_detail, name="household"),
    path("households/<int:household_id>/edit/", views.household_edit, name="household_edit"),
    path("members/<int:member_id>/edit/", views.member_edit, name="member_edit"),
    path("households/<int:household_id>/export/", views.export_card, name="export_card"),
    path(
        "households/<int:household_id>/incomes/<int:year>/",
        views.household_income,
        name="household_income",
    ),
    path("exports/roster/", views.export_roster, name="export_roster"),
    path("exports/jobs/<int:export_job_id>/", views.export_job, name="export_job"),
    path(
        "exports/jobs/<int:export_job_id>/download/",
        views.export_job_download,
        name="export_job_download",
    ),
    path("exports/facts/", views.export_facts, name="export_facts"),
    path("exports/notice/", views.notice, name="notice"),
    path("exports/unmasked/", views.unmasked_requests, name="unmasked_requests"),
    path(
        "exports/unmasked/<int:request_id>/approve/",
        views.decide_unmasked_request,
        {"verdict": "approve"},
        name="approve_unmasked_request",
    ),
    path(
        "exports/unmasked/<int:request_id>/refuse/",
        views.decide_unmasked_request,
        {"verdict": "refuse"},
        name="refuse_unmasked_request",
    ),
    path("imports/", views.import_upload, name="imports"),
    path("imports/template/", views.import_template, name="import_template"),
    path("imports/<int:batch_id>/", views.import_detail, name="import"),
    path("imports/<int:batch_id>/commit/", views.import_commit, name="import_commit"),
    path("imports/<int:batch_id>/report/", views.import_report, name="import_report"),
    path("imports/<int:batch_id>/mapping/", views.import_mapping, name="import_mapping"),
    path("imports/jobs/<int:import_job_id>/", views.import_job, name="import_job"),
    path(
        "imports/jobs/<int:import_job_id>/progress/",
        views.import_job_progress,
        name="import_job_progress",
    ),
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
    # department feeds and screening alerts (issue 22; feed_views.py)
    path("feeds/", feed_views.register, name="feeds"),
    path("feeds/<str:source_code>/upload/", feed_views.upload, name="feed_upload"),
    path("feeds/batches/<int:feed_batch_id>/", feed_views.batch, name="feed_batch"),
    path("feeds/review/", feed_review_views.review_queue, name="feed_review"),
    path(
        "feeds/review/<int:link_review_id>/decide/",
        feed_review_views.decide,
        name="feed_review_decide",
    ),
    path("alerts/", feed_views.alerts, name="feed_alerts"),
    path("alerts/report/", feed_views.screening_report, name="feed_report"),
    path("dashboard/screening/", feed_views.dashboard_screening, name="dashboard_screening"),
    path("dashboard/screening/layer/", feed_views.layer_list, name="dashboard_layer_list"),
    # self-report (public) and hotline 12317 clues (issue 22 item 4; report_views.py)
    path("report/", report_views.self_report, name="self_report"),
    path("report/captcha.png", report_views.captcha_image, name="self_report_captcha"),
    path("clues/", report_views.clues, name="clues"),
    path("clues/hotline/", report_views.hotline, name="clue_hotline"),
    path("clues/<int:clue_id>/close/", report_views.close_clue, name="clue_close"),
    path("clues/<int:clue_id>/ticket/", ticket_views.clue_ticket, name="clue_ticket"),
    # responsibility and scheduling, tickets, their battle map section (issue 24 items 1, 3, 8)
    path("duty/", duty_views.tasks, name="duty_tasks"),
    path("duty/escalate/", duty_views.escalate, name="duty_escalate"),
    path("duty/brief/", duty_views.brief, name="duty_brief"),
    path("duty/structure/", duty_views.structure, name="duty_structure"),
    path(
        "duty/units/<int:command_unit_id>/delete/", duty_views.unit_remove, name="duty_unit_remove"
    ),
    path(
        "duty/responsibilities/<int:responsibility_id>/delete/",
        duty_views.responsibility_remove,
        name="duty_responsibility_remove",
    ),
    path("duty/tasks/<int:task_id>/", duty_views.task, name="duty_task"),
    path("duty/tasks/<int:task_id>/report/", duty_views.task_report, name="duty_task_report"),
    path("duty/tasks/<int:task_id>/complete/", duty_views.task_complete, name="duty_task_complete"),
    path("tickets/", ticket_views.tickets, name="tickets"),
    path("tickets/<int:ticket_id>/", ticket_views.ticket, name="ticket"),
    path("tickets/<int:ticket_id>/route/", ticket_views.ticket_route, name="ticket_route"),
    path("tickets/<int:ticket_id>/reply/", ticket_views.ticket_reply, name="ticket_reply"),
    path(
        "tickets/<int:ticket_id>/satisfaction/",
        ticket_views.ticket_satisfaction,
        name="ticket_satisfaction",
    ),
    path("tickets/<int:ticket_id>/close/", ticket_views.ticket_close, name="ticket_close"),
    path(
        "tickets/<int:ticket_id>/open-case/", ticket_views.ticket_open_case, name="ticket_open_case"
    ),
    path(
        "tickets/<int:ticket_id>/open-problem/",
        ticket_views.ticket_open_problem,
        name="ticket_open_problem",
    ),
    path("dashboard/governance/", governance_board_views.governance, name="dashboard_governance"),
    path(
        "dashboard/governance/problems/",
        governance_board_views.governance_problems,
        name="dashboard_governance_problems",
    ),
    path("alerts/<int:alert_id>/resolve/", feed_views.resolve, name="feed_resolve"),
    # village and county exit (issue 24 item 5; exit_views.py)
    path("exits/", exit_views.exits, name="exits"),
    path("exits/assess/", exit_views.exits_assess, name="exits_assess"),
    path(
        "exits/villages/<str:code>/<int:year>/",
        exit_views.village_conditions,
        name="village_conditions",
    ),
    # inspections and rectification (issue 24 item 2; inspection_views.py)
    path("inspections/", inspection_views.inspections, name="inspections"),
    path("inspections/<int:inspection_id>/", inspection_views.inspection, name="inspection"),
    path("problems/", inspection_views.problems, name="problems"),
    # sampled exit self-check (issue 24 item 6; selfcheck_views.py)
    path("selfchecks/", selfcheck_views.selfchecks, name="selfchecks"),
    path("selfchecks/<int:selfcheck_id>/", selfcheck_views.selfcheck, name="selfcheck"),
    path(
        "selfchecks/<int:selfcheck_id>/households/",
        selfcheck_views.selfcheck_households,
        name="selfcheck_households",
    ),
    path(
        "selfchecks/<int:selfcheck_id>/close/",
        selfcheck_views.selfcheck_close,
        name="selfcheck_close",
    ),
    path(
        "selfchecks/<int:selfcheck_id>/findings/",
        selfcheck_views.selfcheck_findings,
        name="selfcheck_findings",
    ),
    path(
        "selfchecks/<int:selfcheck_id>/report.pdf",
        selfcheck_views.selfcheck_report,
        name="selfcheck_report",
    ),
    path(
        "selfchecks/households/<int:sampled_id>/",
        selfcheck_views.selfcheck_survey,
        name="selfcheck_survey",
    ),
    path("problems/escalate/", inspection_views.escalate, name="problems_escalate"),
    path("problems/<int:problem_id>/", inspection_views.problem, name="problem"),
    path(
        "problems/<int:problem_id>/rectify/",
        inspection_views.problem_rectify,
        name="problem_rectify",
    ),
    path(
        "problems/<int:problem_id>/verify/", inspection_views.problem_verify, name="problem_verify"
    ),
    path("problems/<int:problem_id>/close/", inspection_views.problem_close, name="problem_close"),
    path(
        "problems/<int:problem_id>/accountability/",
        inspection_views.problem_accountability,
        name="problem_accountability",
    ),
    path(
        "problems/evidence/<int:rectification_evidence_id>/",
        inspection_views.evidence_file,
        name="problem_evidence_file",
    ),
    # project bank and fund ledger (issue 23 items 1-2; project_views.py)
    path("projects/", project_views.project_list, name="projects"),
    path("projects/<int:project_id>/", project_views.project, name="project"),
    path(
        "projects/<int:project_id>/funds.<str:fmt>",
        project_views.fund_posting,
        name="project_fund_posting",
    ),
    path(
        "projects/postings/<int:posting_id>.pdf", project_views.posting_pdf, name="project_posting"
    ),
    # project assets and their income (issue 23 item 4; asset_views.py)
    path("assets/", asset_views.asset_list, name="assets"),
    path("assets/<int:asset_id>/", asset_views.asset, name="asset"),
    path("assets/plans/", asset_views.plan_list, name="asset_plans"),
    path("assets/plans/<int:plan_id>/", asset_views.plan, name="asset_plan"),
    path(
        "assets/plans/<int:plan_id>/posting.pdf",
        asset_views.plan_posting,
        name="asset_plan_posting",
    ),
    path("assets/income/", asset_views.income_list, name="asset_incomes"),
    path("assets/payments/", asset_views.payment_list, name="asset_payments"),
    path("dashboard/assets/", asset_views.dashboard_section, name="dashboard_assets"),
    path("funds/", project_views.funds, name="funds"),
    # microcredit (issue 23 item 3; credit_views.py)
    path("credit/", credit_views.loan_list, name="credit_loans"),
    path("credit/new/", credit_views.loan_new, name="credit_new"),
    path("credit/<int:loan_id>/", credit_views.loan, name="credit_loan"),
    path("credit/overdue/", credit_views.overdue, name="credit_overdue"),
    path("credit/overdue.xlsx", credit_views.overdue_xlsx, name="credit_overdue_xlsx"),
    path("credit/statements/", credit_views.statements, name="credit_statements"),
    path(
        "credit/statements/<int:statement_id>/",
        credit_views.statement,
        name="credit_statement",
    ),
    path("credit/fund/", credit_views.fund, name="credit_fund"),
    # points shops and star ratings (issue 23 item 5; points_views.py)
    path("points/", points_views.points_home, name="points"),
    path("points/shops/<int:shop_id>/", points_views.points_shop, name="points_shop"),
    path(
        "points/households/<int:household_id>/",
        points_views.points_household_page,
        name="points_household",
    ),
    path(
        "points/households/<int:household_id>/card/",
        points_views.points_card,
        name="points_card",
    ),
    path("points/ratings/", points_views.points_ratings, name="points_ratings"),
    # the battle map's money section (issue 23 item 6; money_board_views.py)
    path("dashboard/money/", money_board_views.money_section, name="dashboard_money"),
    path("dashboard/money/list/", money_board_views.money_list, name="dashboard_money_list"),
    path("funds/reconciliation/", project_views.funds_reconciliation, name="funds_reconciliation"),
    path("funds/imports/<int:job_id>/", project_views.funds_import, name="funds_import"),
    # assessment (issue 24 item 4; scoring_views.py)
    path("scoring/", scoring_views.scoring, name="scoring"),
    path("scoring/schemes/<str:scheme_id>/", scoring_views.scheme, name="scoring_scheme"),
    path("scoring/periods/<int:score_period_id>/", scoring_views.period, name="scoring_period"),
    path(
        "scoring/periods/<int:score_period_id>/job/",
        scoring_views.period_job,
        name="scoring_period_job",
    ),
    path(
        "scoring/periods/<int:score_period_id>/publish/",
        scoring_views.period_publish,
        name="scoring_period_publish",
    ),
    path("scoring/cards/<int:unit_score_id>/", scoring_views.card, name="scoring_card"),
    path("dashboard/scoring/", scoring_views.dashboard_scoring, name="dashboard_scoring"),
    # village work teams (issue 21 item 1; team_views.py)
    path("teams/", team_views.overview, name="teams"),
    path("teams/village/<str:code>/", team_views.village, name="team_village"),
    path(
        "teams/members/<int:team_member_id>/check-in/",
        team_views.check_in,
        name="team_check_in",
    ),
    path("teams/members/<int:team_member_id>/rotate/", team_views.rotate, name="team_rotate"),
    # household plans and measures (issue 21 item 3; measure_views.py)
    path("measures/", measure_views.measures, name="measures"),
    path("measures/without/", measure_views.measures_without, name="measures_without"),
    path(
        "households/<int:household_id>/measures/",
        measure_views.measure_propose,
        name="measure_propose",
    ),
    path("measures/<int:measure_id>/step/", measure_views.measure_step, name="measure_step"),
    path(
        "measures/<int:measure_id>/evidence/",
        measure_views.measure_evidence,
        name="measure_evidence",
    ),
    path(
        "measures/evidence/<int:measure_evidence_id>/",
        measure_views.measure_evidence_file,
        name="measure_evidence_file",
    ),
    path("measures/liaisons/", measure_views.liaisons, name="measure_liaisons"),
    # helper pairing (issue 21 item 2; assistance_views.py)
    path("pairings/", assistance_views.pairings, name="pairings"),
    path("pairings/unpaired/", assistance_views.unpaired, name="pairings_unpaired"),
    path("pairings/helpers/", assistance_views.helpers, name="pairing_helpers"),
    path(
        "pairings/helpers/<int:user_id>/",
        assistance_views.helper_profile,
        name="pairing_helper",
    ),
    path(
        "pairings/helpers/<int:user_id>/transfer/",
        assistance_views.helper_transfer,
        name="pairing_helper_transfer",
    ),
    path("pairings/import/", assistance_views.pairing_import, name="pairing_import"),
    path("pairings/import/template/", assistance_views.pairing_template, name="pairing_template"),
    path("pairings/<int:pairing_id>/end/", assistance_views.pairing_end, name="pairing_end"),
    # visits in the field (issue 21 items 4, 5; visit_views.py; the service worker's scope is /visits/)
    path("visits/", visit_views.field, name="visit_field"),
    path("visits/sw.js", visit_views.service_worker, name="visit_sw"),
    path("visits/manifest.webmanifest", visit_views.manifest, name="visit_manifest"),
    path("visits/sync/", visit_views.sync, name="visit_sync"),
    # the self-check survey on the same field page (issue 24 item 6; fieldsurvey_views.py)
    path("visits/surveys/sync/", fieldsurvey_views.survey_sync, name="survey_sync"),
    path("visits/<int:visit_id>/open-case/", visit_views.visit_open_case, name="visit_open_case"),
    path(
        "households/<int:household_id>/visits/",
        visit_views.household_visits,
        name="household_visits",
    ),
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
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    # the battle map's assistance section (issue 21 item 6): board_views
    path("dashboard/assistance/", board_views.assistance_section, name="dashboard_assistance"),
    path(
        "dashboard/assistance/list/", board_views.assistance_list, name="dashboard_assistance_list"
    ),
    path("dashboard/refresh/", dashboard_views.dashboard_refresh, name="dashboard_refresh"),
    path("dashboard/jobs/<int:job_id>/", dashboard_views.dashboard_job, name="dashboard_job"),
    path("dashboard/export/", dashboard_views.dashboard_export, name="dashboard_export"),
    path(
        "dashboard/boundaries/", dashboard_views.dashboard_boundaries, name="dashboard_boundaries"
    ),
]
