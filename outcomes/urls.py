from django.urls import path

from .evaluation import views as report_views
from .exports import views as export_views
from .questionnaires import lead_views, views

app_name = "outcomes"

urlpatterns = [
    path("o/<slug:slug>/questionnaires/", views.questionnaire_list, name="questionnaires"),
    path("o/<slug:slug>/questionnaires/<int:assessment_id>/", views.assessment, name="assessment"),
    path("o/<slug:slug>/questionnaires/<int:assessment_id>/support/", views.support, name="support"),
    path("o/<slug:slug>/questionnaires/<int:assessment_id>/<slug:code>/", views.instrument, name="instrument"),
    path("o/<slug:slug>/questionnaires/<int:assessment_id>/<slug:code>/autosave/", views.autosave, name="autosave"),
    path("o/<slug:slug>/my-scores/", views.my_scores, name="my_scores"),
    path("o/<slug:slug>/my-answers/<int:response_id>/", views.my_answers, name="my_answers"),
    path("o/<slug:slug>/completion/", views.completion, name="completion"),
    path("o/<slug:slug>/alerts/<int:alert_id>/", views.alert_detail, name="alert"),
    path("o/<slug:slug>/alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("o/<slug:slug>/lead/instruments/", lead_views.instruments, name="lead_instruments"),
    path(
        "o/<slug:slug>/lead/instruments/<slug:code>@<int:version>/text/",
        lead_views.instrument_text,
        name="lead_instrument_text",
    ),
    path("o/<slug:slug>/lead/plans/", lead_views.plans, name="lead_plans"),
    path("o/<slug:slug>/lead/plans/<int:plan_id>/", lead_views.plan, name="lead_plan"),
    path(
        "o/<slug:slug>/lead/plans/<int:plan_id>/primary-outcome/",
        lead_views.plan_primary_outcome,
        name="lead_plan_primary_outcome",
    ),
    path(
        "o/<slug:slug>/lead/plans/<int:plan_id>/time-points/<int:time_point_id>/remove/",
        lead_views.plan_time_point_remove,
        name="lead_plan_time_point_remove",
    ),
    path("o/<slug:slug>/lead/import/", lead_views.import_page, name="lead_import"),
    path("o/<slug:slug>/lead/import/roster/", lead_views.roster_import_page, name="lead_roster_import"),
    path("o/<slug:slug>/evaluation/", report_views.evaluation, name="evaluation"),
    path("o/<slug:slug>/lead/reliable-change/", report_views.reliable_change_parameters, name="reliable_change"),
    path("o/<slug:slug>/lead/exports/", export_views.exports, name="exports"),
    path("o/<slug:slug>/lead/exports/summary.csv", export_views.summary_csv, name="export_summary_csv"),
    path("o/<slug:slug>/lead/exports/summary.xlsx", export_views.summary_xlsx, name="export_summary_xlsx"),
    path(
        "o/<slug:slug>/lead/exports/meta-analysis.csv", export_views.meta_analysis_csv, name="export_meta_analysis_csv"
    ),
    path("o/<slug:slug>/lead/exports/items.csv", export_views.items_csv, name="export_items_csv"),
    path("o/<slug:slug>/lead/exports/data-dictionary.csv", export_views.dictionary_csv, name="export_dictionary_csv"),
]
