from django.urls import include, path

from reviews import carryover_views, grading_views, response_views, review_views, views
from reviews import early_escalation_views as escalation_views

app_name = "reviews"
# The dashboard's pages, under /dashboard/.
dashboard_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("departments/<int:pk>/", views.department, name="department"),
    path("teams/<int:pk>/", views.team, name="team"),
    path("people/", views.people, name="people"),
    path("risks/", views.risks, name="risks"),
    path("risks/unanswered/", views.risk_badge, name="risk_badge"),
    path("consistency/", views.consistency, name="consistency"),
    path("nudge/", views.nudge, name="nudge"),
]
# Responses to missed commitments (rule 10), under /reviews/.
review_patterns = [
    path("responses/", response_views.response_list, name="responses"),
    path("responses/<int:pk>/", response_views.response_detail, name="response"),
    path(
        "responses/<int:pk>/next-step-done/",
        response_views.response_step_done,
        name="response_step_done",
    ),
    # The quarterly review (rule 11).
    path("review/", review_views.review_of_quarter, name="review_of_quarter"),
    path("review/<int:pk>/", review_views.review_page, name="review"),
    path("review/<int:pk>/factors/", review_views.factor_add, name="review_factor_add"),
    path("review/<int:pk>/decisions/", review_views.decision_add, name="review_decision_add"),
    path(
        "review/<int:pk>/follow-up/<int:decision_pk>/",
        review_views.follow_up,
        name="review_follow_up",
    ),
    path("review/<int:pk>/close/", review_views.close, name="review_close"),
    path("review/<int:pk>/export.pdf", review_views.export_pdf, name="review_export_pdf"),
    path("review/<int:pk>/export.md", review_views.export_md, name="review_export_md"),
]
# Mounted at the site's root (okrly/urls.py): one namespace, two prefixes. A list included
# without an app_name adds no namespace, so the names stay "reviews:<name>".
urlpatterns = [
    path("dashboard/", include(dashboard_patterns)),
    path("reviews/", include(review_patterns)),
]

# Early escalations (rule 7), under /reviews/escalations/.
escalation_patterns = [
    path("escalations/<int:pk>/", escalation_views.detail, name="early_escalation"),
    path(
        "escalations/<int:pk>/answer/",
        escalation_views.answer,
        name="early_escalation_answer",
    ),
    path(
        "escalations/<int:pk>/redirect/",
        escalation_views.redirect_to,
        name="early_escalation_redirect",
    ),
    path(
        "key-results/<int:key_result_pk>/escalate/",
        escalation_views.raise_page,
        name="early_escalation_new",
    ),
]
urlpatterns += [path("reviews/", include(escalation_patterns))]

# Carry-over of a missed or deferred key result into the next quarter, under /reviews/.
carryover_patterns = [
    path(
        "key-results/<int:key_result_pk>/carry-over/",
        carryover_views.carry_over,
        name="carry_over",
    )
]
urlpatterns += [path("reviews/", include(carryover_patterns))]

# The quarter's end (issue 13): leadership starts the review early; owners grade on My week.
grading_patterns = [
    path("quarters/<int:pk>/start-review/", grading_views.start_review, name="start_review"),
    path("key-results/<int:key_result_pk>/grade/", grading_views.grade, name="grade"),
]
urlpatterns += [path("reviews/", include(grading_patterns))]
