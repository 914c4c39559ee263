from django.urls import path

from ownership import views

app_name = "ownership"
urlpatterns = [
    path("test/", views.accountability_test, name="test"),
    path("<int:pk>/accept/", views.accept, name="accept"),
    path("<int:pk>/decline/", views.decline, name="decline"),
    path("<int:pk>/handover/", views.handover, name="handover"),
    path("<int:pk>/inherited/", views.inherited, name="inherited"),
    path("<int:pk>/authority/", views.grant, name="grant"),
    path("<int:pk>/authority/<int:grant_pk>/revoke/", views.revoke, name="revoke"),
    path("<int:pk>/no-dependencies/", views.no_dependencies, name="no_dependencies"),
]
