"""API base: serializers and read-only viewsets for the org structure, and the error handler."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import exceptions, serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from okrly.errors import OKRlyError, PermissionDenied
from okrly.models import Quarter, Team, display_name


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Service errors become 400 (or 403) with the same message the pages show."""
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(exc.message)
    elif isinstance(exc, OKRlyError):
        detail = {exc.field: [exc.message]} if exc.field else [exc.message]
        exc = exceptions.ValidationError(detail)
    return drf_exception_handler(exc, context)


class SlugRelatedField(serializers.SlugRelatedField):
    """DRF's, refusing a NUL character before the lookup: PostgreSQL can't compare text
    with NUL and would fail the request with 500 (a CharField refuses NUL already)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and "\x00" in data:
            raise serializers.ValidationError("Null characters are not allowed.")
        return super().to_internal_value(data)


class PersonSerializer(serializers.ModelSerializer):
    display_name = serializers.SerializerMethodField()

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "display_name"]

    def get_display_name(self, obj: Any) -> str:
        return display_name(obj)


class QuarterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Quarter
        fields = ["id", "name", "start", "end", "checkin_weekday", "checkin_hour", "status"]


class TeamSerializer(serializers.ModelSerializer):
    lead = PersonSerializer(read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "parent", "lead"]


class QuarterViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Quarter.objects.order_by("-start")
    serializer_class = QuarterSerializer


class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Team.objects.select_related("lead").order_by("name")
    serializer_class = TeamSerializer
    lookup_field = "slug"
