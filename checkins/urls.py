from django.urls import path

from checkins import views

app_name = "checkins"
urlpatterns = [
    path("<int:key_result_pk>/", views.submit, name="submit"),
    path("<int:key_result_pk>/week/<int:week>/", views.week_card, name="week_card"),
    path("check-ins/<int:pk>/thread/", views.comment, name="comment"),
    path("needs/<int:pk>/handled/", views.need_handled, name="need_handled"),
]
