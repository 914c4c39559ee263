from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from objectives import services
from objectives.definitions import DefinitionStatus, definition_statuses
from objectives.models import KeyResult, Objective
from objectives.selectors import key_results_with_owner
from okrly.api import PersonSerializer, api_user
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


class AcknowledgementSerializer(serializers.Serializer):
    who = PersonSerializer(source="person")
    reading = serializers.CharField(help_text="What they will do differently because of this.")
    version = serializers.IntegerField(source="version.number")
    when = serializers.DateTimeField(source="created_at")


class ObjectiveSerializer(serializers.ModelSerializer):
    """An objective; its definition's state comes from ``context["definitions"]`` (by id),
    which the view computes for the whole page at once (objectives.definitions)."""

    key_results = KeyResultSerializer(many=True, read_only=True)
    definition_version = serializers.SerializerMethodField(
        help_text="The current definition version's number (null: none published yet)."
    )
    definition_shared = serializers.SerializerMethodField(
        help_text="Every member of the definition group acknowledged the current version."
    )
    acknowledgements = serializers.SerializerMethodField()
    missing_acknowledgements = serializers.SerializerMethodField()

    class Meta:
        model = Objective
        fields = [
            "id",
            "quarter",
            "team",
            "title",
            "means",
            "does_not_mean",
            "tradeoff_rule",
            "rank",
            "parent",
            "children",
            "key_results",
            "definition_version",
            "definition_shared",
            "acknowledgements",
            "missing_acknowledgements",
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

    def _definition(self, obj: Objective) -> DefinitionStatus:
        known: dict[int, DefinitionStatus] = self.context.setdefault("definitions", {})
        if obj.pk not in known:  # a serializer used outside the viewset: ask for this one
            known.update(definition_statuses([obj]))
        return known[obj.pk]

    def get_definition_version(self, obj: Objective) -> int | None:
        version = self._definition(obj).version
        return version.number if version is not None else None

    def get_definition_shared(self, obj: Objective) -> bool:
        return self._definition(obj).shared

    @extend_schema_field(AcknowledgementSerializer(many=True))
    def get_acknowledgements(self, obj: Objective) -> list[dict[str, Any]]:
        """Readings of the current version, oldest first."""
        return list(
            AcknowledgementSerializer(self._definition(obj).acknowledgements, many=True).data
        )

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_missing_acknowledgements(self, obj: Objective) -> list[dict[str, Any]]:
        """The group members who have not acknowledged the current version: ``who``."""
        return [{"who": PersonSerializer(p).data} for p in self._definition(obj).missing]


class ReadingSerializer(serializers.Serializer):
    reading = serializers.CharField(
        allow_blank=True,
        help_text="What I will do differently because of this (at least 15 characters).",
    )


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

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        # The definition flags of every objective on the page in a fixed number of queries.
        if args and not isinstance(args[0], QuerySet):
            rows = args[0] if isinstance(args[0], list) else [args[0]]
            objectives = [o for o in rows if isinstance(o, Objective)]
            kwargs.setdefault("context", self.get_serializer_context())
            kwargs["context"]["definitions"] = definition_statuses(objectives)
        return super().get_serializer(*args, **kwargs)

    @extend_schema(
        request=ReadingSerializer,
        responses=ObjectiveSerializer,
        examples=[
            OpenApiExample(
                "A reading",
                value={"reading": "We stop hiring quota reps until margin is back to 70%."},
                request_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """Acknowledge the objective's current definition in your own words (members of its
        definition group only)."""
        objective = self.get_object()
        body = ReadingSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.definition_acknowledge(
            user=api_user(request), objective=objective, reading=body.validated_data["reading"]
        )
        return Response(self.get_serializer(objective).data)


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
