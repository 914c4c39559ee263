from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from objectives import services, tradeoffs
from objectives.definitions import DefinitionStatus, definition_statuses
from objectives.models import Displacement, KeyResult, Objective, TradeOff, TradeOffCategory
from objectives.selectors import key_results_with_owner
from okrly.api import PersonSerializer, api_user
from okrly.models import Quarter, Team
from okrly.params import ID_MAX, column_range, decimal_limits, id_param


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


# --- writing: the same services, the same rights -------------------------------------------------


def _max_length(model: type[models.Model], name: str) -> int:
    """A text column's declared length, so the API refuses what the database would."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.CharField)
    assert field.max_length
    return field.max_length


TITLE_MAX = _max_length(Objective, "title")
UNIT_MAX = _max_length(KeyResult, "unit")
RANK_MAX = column_range(Objective, "rank")[1]
TARGET_MAX, TARGET_PLACES = decimal_limits(KeyResult, "target_value")
TARGET_DIGITS = len(str(int(TARGET_MAX))) + TARGET_PLACES
# Every refusal is answered with okrly.api's Error schema (added by its postprocessing hook);
# an operation that documents a refusal of its own refers to it and adds examples.
ERROR_REF = {"$ref": "#/components/schemas/Error"}


class IdField(serializers.PrimaryKeyRelatedField):
    """A row by its id. The id is checked as a whole number from 1 to the bigint maximum
    before the lookup: DRF's own field hands a float such as 1e400 (JSON for infinity) to the
    query, whose int() overflows and fails the request with 500."""

    def to_internal_value(self, data: Any) -> Any:
        number = serializers.IntegerField(min_value=1, max_value=ID_MAX)
        try:
            pk = number.to_internal_value(data)
            number.run_validators(pk)
        except serializers.ValidationError:
            self.fail("does_not_exist", pk_value=str(data)[:50])
        return super().to_internal_value(pk)


def _text(help_text: str) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, help_text=help_text)


def _parent_field() -> IdField:
    return IdField(
        queryset=Objective.objects.select_related("quarter", "team"),
        required=False,
        allow_null=True,
        help_text="The objective this one aligns to (id): same quarter, a team above this "
        "one or the leadership team; null for none.",
    )


class ObjectiveChangeSerializer(serializers.Serializer):
    """What a lead may change on an objective (PATCH: any of them)."""

    title = serializers.CharField(max_length=TITLE_MAX)
    means = _text("What it means.")
    does_not_mean = _text("What it does not mean.")
    tradeoff_rule = _text("How we'll decide when it competes with other work.")
    rank = serializers.IntegerField(
        required=False, min_value=1, max_value=RANK_MAX, help_text="Its place in the team's list."
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        # Added here: a class attribute named "parent" would shadow Field.parent.
        fields = super().get_fields()
        fields["parent"] = _parent_field()
        return fields


class ObjectiveCreateSerializer(ObjectiveChangeSerializer):
    """A new objective for a team's quarter; ``rank`` defaults to the end of the list."""

    quarter = IdField(queryset=Quarter.objects.all(), help_text="The quarter (id).")
    team = IdField(queryset=Team.objects.all(), help_text="The team (id) whose objective it is.")
    means = serializers.CharField(required=False, allow_blank=True, default="")
    does_not_mean = serializers.CharField(required=False, allow_blank=True, default="")
    tradeoff_rule = serializers.CharField(required=False, allow_blank=True, default="")


OBJECTIVE_EXAMPLE = {
    "quarter": 1,
    "team": 2,
    "title": "Win back churned accounts",
    "means": "Accounts that left in the last 12 months come back on a paid plan.",
    "does_not_mean": "Discounting new sign-ups.",
    "tradeoff_rule": "Retention work wins over new features until churn is under 3%.",
}
TRADE_OFF_REQUIRED_EXAMPLE = {
    "code": "trade_off_required",
    "limit": 3,
    "team": 2,
    "team_name": "Growth",
    "detail": "Growth already has 3 objectives (the limit) and 2026 Q4 is under way: adding "
    "one now is a trade-off decision that says what it displaces.",
}
LIMIT_REACHED_EXAMPLE = {
    "code": "limit_reached",
    "limit": 3,
    "team": 2,
    "team_name": "Growth",
    "detail": "Growth already has 3 objectives, the limit for Growth in 2027 Q1; drop or merge "
    "one before adding another.",
}
NOT_LEAD_EXAMPLE = {
    "detail": "Only a lead of Growth (or an administrator) can change its objectives and key "
    "results."
}
OBJECTIVE_REFUSALS = {
    400: OpenApiResponse(
        ERROR_REF,
        description="A field is missing or malformed (messages by field), or the team is at "
        "its limit: ``code`` is ``trade_off_required`` once the quarter is under way (record a "
        "trade-off, POST /api/trade-offs/) or ``limit_reached`` while it is planned, with the "
        "``limit`` and the ``team``.",
        examples=[
            OpenApiExample("Over the limit mid-quarter", TRADE_OFF_REQUIRED_EXAMPLE),
            OpenApiExample("Over the limit in planning", LIMIT_REACHED_EXAMPLE),
            OpenApiExample("A bad field", {"title": ["This field may not be blank."]}),
        ],
    ),
    403: OpenApiResponse(
        ERROR_REF,
        description="Only the team's leads (and staff) write its objectives.",
        examples=[OpenApiExample("Not a lead of the team", NOT_LEAD_EXAMPLE)],
    ),
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
    """Objectives with their definitions' state; team leads (and staff) create and change
    them through objectives.services, which checks the team's limit (no PUT, no DELETE)."""

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
        request=ObjectiveCreateSerializer,
        responses={201: ObjectiveSerializer, **OBJECTIVE_REFUSALS},
        examples=[OpenApiExample("A new objective", OBJECTIVE_EXAMPLE, request_only=True)],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Add an objective to a team's quarter (its leads and staff). Past the team's limit
        in an active quarter it is refused with ``trade_off_required``: record a trade-off
        that says what it displaces instead (POST /api/trade-offs/)."""
        body = ObjectiveCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        objective = services.objective_create(user=api_user(request), **body.validated_data)
        return Response(self.get_serializer(objective).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ObjectiveChangeSerializer,
        responses={200: ObjectiveSerializer, **OBJECTIVE_REFUSALS},
        examples=[
            OpenApiExample(
                "A sharper definition",
                {"does_not_mean": "Discounting new sign-ups or re-activating free accounts."},
                request_only=True,
            )
        ],
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change an objective (its team's leads and staff). Changing what it means, what it
        does not mean or its trade-off rule after someone acknowledged it publishes a new
        definition version."""
        objective = self.get_object()
        body = ObjectiveChangeSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        objective = services.objective_update(
            user=api_user(request), objective=objective, **body.validated_data
        )
        return Response(self.get_serializer(objective).data)

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


# --- trade-offs (rule 8) ----------------------------------------------------------------------


class TradeOffCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = TradeOffCategory
        fields = ["id", "name", "position"]


class TradeOffCategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """The categories a trade-off may be filed under (the ones admins keep offering)."""

    queryset = TradeOffCategory.objects.filter(active=True).order_by("position", "name")
    serializer_class = TradeOffCategorySerializer


class DisplacementSerializer(serializers.ModelSerializer):
    kind = serializers.SerializerMethodField(help_text='"objective" or "key_result".')
    id = serializers.SerializerMethodField(
        help_text="The displaced objective's or key result's id."
    )
    title = serializers.SerializerMethodField()

    class Meta:
        model = Displacement
        fields = ["kind", "id", "title", "action", "previous_target", "new_target"]

    def get_kind(self, obj: Displacement) -> str:
        return "objective" if obj.objective_id is not None else "key_result"

    def get_id(self, obj: Displacement) -> int:
        return int(obj.objective_id or obj.key_result_id or 0)

    def get_title(self, obj: Displacement) -> str:
        item = obj.objective or obj.key_result
        return item.title if item is not None else ""


class TradeOffSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    decided_by = PersonSerializer(read_only=True)
    decided_at = serializers.DateTimeField(source="created_at", read_only=True)
    approved_by = PersonSerializer(read_only=True, allow_null=True)
    displaced = DisplacementSerializer(many=True, read_only=True)

    class Meta:
        model = TradeOff
        fields = [
            "id",
            "quarter",
            "team",
            "team_name",
            "category",
            "category_name",
            "reason",
            "status",
            "addition",
            "added_objective",
            "added_key_result",
            "decided_by",
            "decided_at",
            "approved_by",
            "approved_at",
            "displaced",
        ]
        extra_kwargs = {
            "addition": {"help_text": "What is added: kind and the fields it is created with."},
            "added_objective": {"help_text": "The objective added (id), once carried out."},
            "added_key_result": {"help_text": "The key result added (id), once carried out."},
        }


KIND_CHOICES = [("objective", "An objective"), ("key_result", "A key result")]


def _amount(help_text: str, **kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=TARGET_DIGITS,
        decimal_places=TARGET_PLACES,
        required=False,
        help_text=help_text,
        **kwargs,
    )


class AdditionSerializer(serializers.Serializer):
    """What the trade-off adds. An objective: ``title`` and its definition (``means``,
    ``does_not_mean``, ``tradeoff_rule``, ``parent``). A key result: ``objective``, ``title``,
    ``owner``, ``target_value`` (and ``start_value``, ``unit``, ``direction``)."""

    kind = serializers.ChoiceField(choices=KIND_CHOICES)
    title = serializers.CharField(max_length=TITLE_MAX)
    means = _text("An objective's: what it means.")
    does_not_mean = _text("An objective's: what it does not mean.")
    tradeoff_rule = _text("An objective's: how we'll decide when it competes with other work.")
    objective = IdField(
        queryset=Objective.objects.all(),
        required=False,
        help_text="A key result's: the team's objective (id) it belongs to.",
    )
    owner = IdField(
        queryset=get_user_model().objects.all(),
        required=False,
        help_text="A key result's: the one person accountable (user id).",
    )
    start_value = _amount("A key result's start (default 0).")
    target_value = _amount("A key result's target.")
    unit = serializers.CharField(max_length=UNIT_MAX, required=False, allow_blank=True)
    direction = serializers.ChoiceField(choices=KeyResult.Direction.choices, required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["parent"] = _parent_field()
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] == "key_result":
            missing = [f for f in ("objective", "owner", "target_value") if attrs.get(f) is None]
            if missing:
                raise serializers.ValidationError(
                    dict.fromkeys(missing, "A key result added by a trade-off needs this.")
                )
        return attrs


class DisplacedSerializer(serializers.Serializer):
    """One displaced item: ``objective`` or ``key_result`` (an id), and what happens to it."""

    objective = IdField(
        queryset=Objective.objects.select_related("team", "quarter"),
        required=False,
        help_text="The objective displaced (id); or give key_result.",
    )
    key_result = IdField(
        queryset=KeyResult.objects.select_related("objective__team", "objective__quarter"),
        required=False,
        help_text="The key result displaced (id); or give objective.",
    )
    action = serializers.ChoiceField(
        choices=Displacement.Action.choices,
        help_text="dropped, deferred (to next quarter) or descoped (a key result, to new_target).",
    )
    new_target = _amount("A descoped key result's smaller target.", allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("objective") is None) == (attrs.get("key_result") is None):
            raise serializers.ValidationError(
                "Name one objective or one key result for each displaced item."
            )
        return attrs


class TradeOffDecisionSerializer(serializers.Serializer):
    team = IdField(queryset=Team.objects.all(), help_text="The team taking on the work (id).")
    quarter = IdField(queryset=Quarter.objects.all(), help_text="The active quarter (id).")
    category = IdField(
        queryset=TradeOffCategory.objects.all(),
        help_text="Why it is urgent, as a category (id, GET /api/trade-off-categories/).",
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Why it cannot wait, in words."
    )
    addition = AdditionSerializer()
    # Empty or missing is the service's to refuse, with its reason (a trade-off names what
    # it displaces).
    displaced: serializers.ListSerializer[Any] = serializers.ListSerializer(
        child=DisplacedSerializer(), required=False, max_length=50
    )


TRADE_OFF_EXAMPLE = {
    "team": 2,
    "quarter": 1,
    "category": 1,
    "reason": "Our largest customer threatens to leave over invoice errors.",
    "addition": {"kind": "objective", "title": "Fix invoicing for enterprise accounts"},
    "displaced": [
        {"objective": 7, "action": "deferred"},
        {"key_result": 12, "action": "descoped", "new_target": "40.00"},
    ],
}
TRADE_OFF_RESULT_EXAMPLE = {
    "id": 3,
    "quarter": 1,
    "team": 2,
    "team_name": "Growth",
    "category": 1,
    "category_name": "Client escalation",
    "reason": "Our largest customer threatens to leave over invoice errors.",
    "status": "decided",
    "addition": {"kind": "objective", "title": "Fix invoicing for enterprise accounts"},
    "added_objective": 15,
    "added_key_result": None,
    "decided_by": {"id": 4, "username": "lena", "display_name": "Lena Lead"},
    "decided_at": "2026-11-17T09:30:00Z",
    "approved_by": None,
    "approved_at": None,
    "displaced": [
        {
            "kind": "objective",
            "id": 7,
            "title": "Launch the partner portal",
            "action": "deferred",
            "previous_target": None,
            "new_target": None,
        },
        {
            "kind": "key_result",
            "id": 12,
            "title": "Raise trial conversion to 60%",
            "action": "descoped",
            "previous_target": "60.00",
            "new_target": "40.00",
        },
    ],
}
NOTHING_DISPLACED_EXAMPLE = {
    "displaced": [
        "A trade-off says what it displaces: choose at least one objective or key result to "
        "drop, defer or descope."
    ]
}


def _trade_off_refusals(
    refused: OpenApiExample, forbidden: str, example: dict[str, Any]
) -> dict[int, OpenApiResponse]:
    return {
        400: OpenApiResponse(
            ERROR_REF,
            description="A field is missing or malformed, or the decision breaks a rule: the "
            "body says what to change.",
            examples=[refused],
        ),
        403: OpenApiResponse(
            ERROR_REF, description=forbidden, examples=[OpenApiExample("Not allowed", example)]
        ),
    }


LEADERSHIP_ONLY = {"detail": "Only the leadership group approves or refuses a trade-off."}
NOT_AWAITING = OpenApiExample(
    "Not awaiting approval", ["Trade-off #3 is decided, not awaiting approval."]
)


@extend_schema_view(
    list=extend_schema(
        parameters=filters,
        examples=[OpenApiExample("A decision", TRADE_OFF_RESULT_EXAMPLE, response_only=True)],
    )
)
class TradeOffViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[TradeOff]
):
    """The trade-off ledger (rule 8): decisions newest first, each with what it displaced.
    Recording one is objectives.tradeoffs.trade_off_decide, with its rights and rules."""

    serializer_class = TradeOffSerializer

    def get_queryset(self) -> QuerySet[TradeOff]:
        # Every row's team, category, people and displaced items in two queries.
        queryset = tradeoffs.ledger(None)
        queryset = _filter_int(queryset, self.request.query_params, "quarter", "quarter_id")
        return _filter_int(queryset, self.request.query_params, "team", "team_id")

    def _answer(self, trade_off: TradeOff, code: int = status.HTTP_200_OK) -> Response:
        row = tradeoffs.ledger(None).get(pk=trade_off.pk)
        return Response(TradeOffSerializer(row).data, status=code)

    @extend_schema(
        request=TradeOffDecisionSerializer,
        responses={
            201: OpenApiResponse(
                TradeOffSerializer,
                description="Recorded: carried out (status decided), or awaiting leadership's "
                "approval when a displaced item has another team's commitments behind it.",
                examples=[OpenApiExample("Decided", TRADE_OFF_RESULT_EXAMPLE)],
            ),
            **_trade_off_refusals(
                OpenApiExample("Nothing displaced", NOTHING_DISPLACED_EXAMPLE),
                "Only a lead of the team or the leadership group decides its trade-offs.",
                {
                    "detail": "Only a lead of Growth or the leadership group decides Growth's "
                    "trade-offs."
                },
            ),
        },
        examples=[OpenApiExample("Add an objective", TRADE_OFF_EXAMPLE, request_only=True)],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Record a trade-off decision: what is added to a team over its limit in an active
        quarter, why, and what it displaces (at least one objective or key result, each
        dropped, deferred or descoped to a new target)."""
        body = TradeOffDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        displaced = [
            tradeoffs.Displace(
                item=entry.get("objective") or entry["key_result"],
                action=entry["action"],
                new_target=entry.get("new_target"),
            )
            for entry in data.get("displaced", [])
        ]
        trade_off = tradeoffs.trade_off_decide(
            user=api_user(request),
            team=data["team"],
            quarter=data["quarter"],
            category=data["category"],
            reason=data["reason"],
            displaced=displaced,
            addition=dict(data["addition"]),
        )
        return self._answer(trade_off, status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            200: TradeOffSerializer,
            **_trade_off_refusals(NOT_AWAITING, "Leadership only.", LEADERSHIP_ONLY),
        },
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Approve a decision awaiting leadership (leadership only); it is carried out."""
        trade_off = tradeoffs.trade_off_approve(user=api_user(request), trade_off=self.get_object())
        return self._answer(trade_off)

    @extend_schema(
        request=None,
        responses={
            200: TradeOffSerializer,
            **_trade_off_refusals(NOT_AWAITING, "Leadership only.", LEADERSHIP_ONLY),
        },
    )
    @action(detail=True, methods=["post"])
    def refuse(self, request: Request, pk: str | None = None) -> Response:
        """Refuse a decision awaiting leadership (leadership only): nothing is added or
        displaced."""
        trade_off = tradeoffs.trade_off_refuse(user=api_user(request), trade_off=self.get_object())
        return self._answer(trade_off)
