"""Dependencies API: list/create and the life-cycle actions, through the same services."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from dependencies import selectors, services, validation
from dependencies.models import Dependency
from objectives.models import KeyResult
from okrly.api import PersonSerializer, SlugRelatedField, api_user
from okrly.models import Team
from okrly.params import id_param


class DependencySerializer(serializers.ModelSerializer):
    responsible = PersonSerializer(read_only=True)
    provider_team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        read_only=True, slug_field="slug"
    )
    requesting_team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        read_only=True, slug_field="slug"
    )

    class Meta:
        model = Dependency
        fields = [
            "id",
            "key_result",
            "requesting_team",
            "provider_team",
            "deliverable",
            "due_date",
            "responsible",
            "rank",
            "status",
            "proposed_due_date",
            "proposed_deliverable",
            "reason",
            "escalation_rung",
            "escalation_trigger",
            "requested_at",
            "committed_at",
            "delivered_at",
            "confirmed_at",
        ]


class DependencyRequestSerializer(serializers.Serializer):
    key_result = serializers.PrimaryKeyRelatedField(
        queryset=KeyResult.objects.select_related("objective__team", "objective__quarter", "owner")
    )
    provider_team = SlugRelatedField(queryset=Team.objects.all(), slug_field="slug")
    responsible = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.all())
    deliverable = serializers.CharField(max_length=300)
    due_date = serializers.DateField()
    rank = serializers.IntegerField(required=False, min_value=1, max_value=validation.RANK_MAX)
    confirm_outside_quarter = serializers.BooleanField(required=False, default=False)


class CounterSerializer(serializers.Serializer):
    due_date = serializers.DateField(required=False, allow_null=True, default=None)
    deliverable = serializers.CharField(required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class DependencyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = DependencySerializer

    def get_queryset(self) -> QuerySet[Dependency]:
        queryset = selectors.with_people().order_by("pk")
        params = self.request.query_params
        for name, lookup in [
            ("key_result", "key_result_id"),
            ("responsible", "responsible_id"),
        ]:
            pk = id_param(params, name)
            if pk is not None:
                queryset = queryset.filter(**{lookup: pk})
        if params.get("status"):
            queryset = queryset.filter(status=params["status"])
        return queryset

    @extend_schema(request=DependencyRequestSerializer, responses=DependencySerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = DependencyRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dep = services.dependency_request(user=api_user(request), **data.validated_data)
        return Response(DependencySerializer(dep).data, status=status.HTTP_201_CREATED)

    def _answer(self, request: Request, call: Any, serializer: Any = None) -> Response:
        dep = self.get_object()
        kwargs: dict[str, Any] = {}
        if serializer is not None:
            body = serializer(data=request.data)
            body.is_valid(raise_exception=True)
            kwargs = dict(body.validated_data)
        dep = call(dependency=dep, user=api_user(request), **kwargs)
        return Response(DependencySerializer(selectors.detail(dep.pk)).data)

    @extend_schema(request=None, responses=DependencySerializer)
    @action(detail=True, methods=["post"])
    def commit(self, request: Request, pk: str | None = None) -> Response:
        return self._answer(request, services.dependency_commit)

    @extend_schema(request=CounterSerializer, responses=DependencySerializer)
    @action(detail=True, methods=["post"])
    def counter(self, request: Request, pk: str | None = None) -> Response:
        return self._answer(request, services.dependency_counter, CounterSerializer)

    @extend_schema(request=None, responses=DependencySerializer)
    @action(detail=True, methods=["post"], url_path="accept-counter")
    def accept_counter(self, request: Request, pk: str | None = None) -> Response:
        return self._answer(request, services.dependency_accept_counter)

    @extend_schema(request=ReasonSerializer, responses=DependencySerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str | None = None) -> Response:
        return self._answer(request, services.dependency_decline, ReasonSerializer)

    @extend_schema(request=None, responses=DependencySerializer)
    @action(detail=True, methods=["post"])
    def deliver(self, request: Request, pk: str | None = None) -> Response:
        return self._answer(request, services.dependency_deliver)
