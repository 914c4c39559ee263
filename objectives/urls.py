from django.urls import path

from objectives import views

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
    path("key-results/<int:pk>/", views.key_result_detail, name="key_result"),
    path("key-results/<int:pk>/edit/", views.key_result_edit, name="key_result_edit"),
]
