"""Check-ins API: submit and list, through the same service (a script or a bot can submit)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from checkins import services
from checkins.models import CheckIn
from dependencies.models import Dependency
from objectives.models import KeyResult
from okrly.api import api_user
from okrly.params import column_range, id_param, int_param


class CheckInSerializer(serializers.ModelSerializer):
    class Meta:
        model = CheckIn
        fields = [
            "id",
            "key_result",
            "week",
            "author",
            "status",
            "confidence",
            "biggest_risk",
            "need",
            "need_person",
            "need_dependency",
            "need_handled_at",
            "value",
            "forecast_value",
            "forecast_flag",
            "submitted_at",
            "edited_at",
        ]


class CheckInSubmitSerializer(serializers.Serializer):
    """Loose types on purpose: the service checks them and says what is wrong."""

    key_result = serializers.PrimaryKeyRelatedField(queryset=KeyResult.objects.all())
    week = serializers.IntegerField(required=False, allow_null=True, default=None)
    status = serializers.CharField()
    confidence = serializers.CharField()
    biggest_risk = serializers.CharField(allow_blank=True)
    value = serializers.CharField()
    need = serializers.CharField(required=False, allow_blank=True, default="")
    need_person = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        allow_null=True,
        default=None,
    )
    need_dependency = serializers.PrimaryKeyRelatedField(
        queryset=Dependency.objects.all(), required=False, allow_null=True, default=None
    )


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("key_result", int, description="Only this key result's (id)."),
            OpenApiParameter("week", int, description="Only this week of the quarter."),
        ]
    )
)
class CheckInViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = CheckInSerializer

    def get_queryset(self) -> QuerySet[CheckIn]:
        queryset = CheckIn.objects.order_by("key_result_id", "week")
        params = self.request.query_params
        key_result = id_param(params, "key_result")
        if key_result is not None:
            queryset = queryset.filter(key_result=key_result)
        week = int_param(params, "week", min_value=1, max_value=column_range(CheckIn, "week")[1])
        if week is not None:
            queryset = queryset.filter(week=week)
        return queryset

    @extend_schema(request=CheckInSubmitSerializer, responses=CheckInSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = CheckInSubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        check_in = services.checkin_submit(user=api_user(request), **data)
        # A first submission creates the week's check-in; any later one edits it.
        edited = check_in.edited_at is not None
        return Response(
            CheckInSerializer(check_in).data,
            status=status.HTTP_200_OK if edited else status.HTTP_201_CREATED,
        )
