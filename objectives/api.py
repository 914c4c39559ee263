from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from objectives.models import KeyResult, Objective
from objectives.selectors import key_results_with_owner
from okrly.api import PersonSerializer
from okrly.params import id_param


class KeyResultSerializer(serializers.ModelSerializer):
    owner = PersonSerializer(read_only=True)
    progress = serializers.IntegerField(read_only=True)

    class Meta:
        model = KeyResult
        fields = [
            "id",
            "objective",
            "title",
            "owner",
            "direction",
            "start_value",
            "target_value",
            "current_value",
            "unit",
            "progress",
        ]


class ObjectiveSerializer(serializers.ModelSerializer):
    key_results = KeyResultSerializer(many=True, read_only=True)

    class Meta:
        model = Objective
        fields = [
            "id",
            "quarter",
            "team",
            "title",
            "means",
            "does_not_mean",
            "rank",
            "parent",
            "children",
            "key_results",
        ]
        # Ids, built by ModelSerializer (a field named "parent" would shadow Field.parent).
        extra_kwargs = {
            "parent": {
                "read_only": True,
                "help_text": "The objective this one aligns to (id), or null.",
            },
            "children": {
                "read_only": True,
                "help_text": "The objectives aligned to this one (ids).",
            },
        }


def _filter_int(queryset: QuerySet[Any], params: Any, name: str, lookup: str) -> QuerySet[Any]:
    pk = id_param(params, name)
    return queryset if pk is None else queryset.filter(**{lookup: pk})


filters = [
    OpenApiParameter("quarter", int, description="Only this quarter's (id)."),
    OpenApiParameter("team", int, description="Only this team's (id)."),
]


@extend_schema_view(list=extend_schema(parameters=filters))
class ObjectiveViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ObjectiveSerializer

    def get_queryset(self) -> QuerySet[Objective]:
        queryset = Objective.objects.prefetch_related(
            Prefetch("key_results", queryset=key_results_with_owner()),
            # One query for every row's children; only their ids are serialised.
            Prefetch("children", queryset=Objective.objects.only("pk", "parent").order_by("pk")),
        ).order_by("quarter", "team__name", "rank", "pk")
        queryset = _filter_int(queryset, self.request.query_params, "quarter", "quarter_id")
        return _filter_int(queryset, self.request.query_params, "team", "team_id")


@extend_schema_view(
    list=extend_schema(
        parameters=[
            *filters,
            OpenApiParameter("owner", int, description="Only this person's (user id)."),
        ]
    )
)
class KeyResultViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = KeyResultSerializer

    def get_queryset(self) -> QuerySet[KeyResult]:
        queryset = key_results_with_owner().order_by("pk")
        params = self.request.query_params
        queryset = _filter_int(queryset, params, "quarter", "objective__quarter_id")
        queryset = _filter_int(queryset, params, "team", "objective__team_id")
        return _filter_int(queryset, params, "owner", "owner_id")
