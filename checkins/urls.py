from django.urls import path

from checkins import views

app_name = "checkins"
urlpatterns = [
    path("<int:key_result_pk>/", views.submit, name="submit"),
    path("<int:key_result_pk>/week/<int:week>/", views.week_card, name="week_card"),
    # The prompt e-mail's signed link (checkins/links.py): any characters a signature has.
    path("open/<str:token>/", views.open_link, name="open"),
    path("check-ins/<int:pk>/thread/", views.comment, name="comment"),
    path("needs/<int:pk>/handled/", views.need_handled, name="need_handled"),
]
