"""A URL configuration of its own for ``test_links``: the same view name, another path."""

from django.http import HttpResponse
from django.urls import path

urlpatterns = [path("elsewhere/<int:pk>/things/", lambda request, pk: HttpResponse(), name="thing")]
