from django.urls import path

from dependencies import views

app_name = "dependencies"
urlpatterns = [
    path("request/<int:key_result_pk>/", views.request_dependency, name="request"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/<slug:action>/", views.act, name="act"),
]
