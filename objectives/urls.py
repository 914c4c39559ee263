from django.urls import path

from objectives import tradeoff_views, views

app_name = "objectives"
urlpatterns = [
    path("", views.objective_list, name="list"),
    path("alignment/", views.alignment, name="alignment"),
    path("new/", views.objective_create, name="create"),
    path("<int:pk>/", views.objective_detail, name="detail"),
    path("<int:pk>/acknowledge/", views.objective_detail, name="acknowledge"),
    path("<int:pk>/edit/", views.objective_edit, name="edit"),
    path("readings/<int:pk>/challenge/", views.reading_challenge, name="challenge"),
    path("challenges/<int:pk>/reply/", views.challenge_reply, name="challenge_reply"),
    path("<int:objective_pk>/key-results/new/", views.key_result_create, name="key_result_create"),
    path("trade-offs/", tradeoff_views.trade_off_ledger, name="trade_offs"),
    path("trade-offs/new/", tradeoff_views.trade_off_create, name="trade_off_create"),
    path(
        "trade-offs/<int:pk>/approve/", tradeoff_views.trade_off_approve, name="trade_off_approve"
    ),
    path("trade-offs/<int:pk>/refuse/", tradeoff_views.trade_off_refuse, name="trade_off_refuse"),
    path("key-results/<int:pk>/", views.key_result_detail, name="key_result"),
    path("key-results/<int:pk>/edit/", views.key_result_edit, name="key_result_edit"),
]
