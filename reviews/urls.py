from django.urls import path

from reviews import views

app_name = "reviews"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("departments/<int:pk>/", views.department, name="department"),
    path("teams/<int:pk>/", views.team, name="team"),
    path("people/", views.people, name="people"),
    path("risks/", views.risks, name="risks"),
    path("risks/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("nudge/", views.nudge, name="nudge"),
]
