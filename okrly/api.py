"""API base: serializers and read-only viewsets for the org structure, and the error handler."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from okrly.errors import NotAllowed, OKRlyError
from okrly.models import Quarter, Team, display_name

if TYPE_CHECKING:
    from okrly.types import User


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Service errors become 400 (or 403) with the same message the pages show."""
    if isinstance(exc, NotAllowed):
        exc = exceptions.PermissionDenied(exc.message)
    elif isinstance(exc, OKRlyError) and exc.code:
        return Response(
            {"code": exc.code, **exc.data, "detail": exc.message},
            status=status.HTTP_400_BAD_REQUEST,
        )
    elif isinstance(exc, OKRlyError):
        detail = {exc.field: [exc.message]} if exc.field else [exc.message]
        exc = exceptions.ValidationError(detail)
    return drf_exception_handler(exc, context)


# Every refusal the API can answer, documented on every operation so that a client (and the
# fuzzer, tests/okrly/test_fuzz.py) knows them: a validation error is an object by field or a
# list of messages (okrly's service errors without a field); the others are {"detail": ...}.
ERROR_RESPONSES = {
    "400": "The request is malformed or breaks a rule: the body says what to change.",
    "401": "No valid credentials (a token or a session).",
    "403": "Signed in, but not allowed to do this: the body says who may.",
    "404": "No such object (or an id that names nothing).",
    "429": "Too many requests: wait as long as the Retry-After header says.",
}
ERROR_SCHEMA = {
    "description": "Messages by field (a list each), a list of messages, or a detail.",
    "oneOf": [
        {"type": "object", "additionalProperties": True},
        {"type": "array", "items": {"type": "string"}},
    ],
}


def api_user(request: Request) -> User:
    """The person making an API request. Every API view requires a signed-in user
    (DEFAULT_PERMISSION_CLASSES), so this is never anonymous; if a view ever allows anyone,
    asking it for a person answers 401 instead of handing a service an AnonymousUser."""
    user = request.user
    if isinstance(user, AnonymousUser):
        raise exceptions.NotAuthenticated()
    return user


def document_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add the error responses to every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, description in ERROR_RESPONSES.items():
                responses.setdefault(code, {"description": description, "content": error})
    return result


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
    lead = PersonSerializer(read_only=True, allow_null=True)

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
    # Any segment reaches the view (the router's default stops at "."), so a slug that
    # names no team is the API's JSON 404, not the HTML page for an unknown address.
    lookup_value_regex = "[^/]+"
