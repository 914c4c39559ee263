from django.urls import path

from checkins import views

app_name = "checkins"
urlpatterns = [
    path("<int:key_result_pk>/", views.submit, name="submit"),
    path("needs/<int:pk>/handled/", views.need_handled, name="need_handled"),
]
