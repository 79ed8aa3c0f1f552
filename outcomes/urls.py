from django.urls import path

from . import views

app_name = "outcomes"

urlpatterns = [
    path("o/<slug:slug>/questionnaires/", views.questionnaire_list, name="questionnaires"),
    path("o/<slug:slug>/questionnaires/<int:assessment_id>/", views.assessment, name="assessment"),
    path("o/<slug:slug>/questionnaires/<int:assessment_id>/support/", views.support, name="support"),
    path("o/<slug:slug>/questionnaires/<int:assessment_id>/<slug:code>/", views.instrument, name="instrument"),
    path(
        "o/<slug:slug>/questionnaires/<int:assessment_id>/<slug:code>/autosave/", views.autosave, name="autosave"
    ),
    path("o/<slug:slug>/my-scores/", views.my_scores, name="my_scores"),
    path("o/<slug:slug>/completion/", views.completion, name="completion"),
    path("o/<slug:slug>/alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
]
