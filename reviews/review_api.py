"""Quarterly reviews (rule 11) over the API: the list and one review (with its factors,
decisions and follow-ups), and adding a factor, adding a decision, following up last
quarter's decisions and closing (the same services as the page, with their rights and rules:
closing without a structural decision answers 400 {"code": "structural_decision_required"})."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet
from django.http import Http404
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

from dependencies.models import Dependency
from objectives.api import ERROR_REF, IdField
from objectives.models import KeyResult, TradeOff
from okrly.api import PersonSerializer, api_user
from okrly.models import Quarter, Team
from okrly.params import ID_MAX, id_param
from reviews import review_services as services
from reviews.models import (
    ContributingFactor,
    DecisionFollowUp,
    MissResponse,
    Review,
    StructuralDecision,
)

TEXT_MAX = 10_000


# --- reading ------------------------------------------------------------------------------------


class ReviewNamedRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class EvidenceSerializer(serializers.Serializer):
    """The evidence a factor or decision points at (ids; null when not linked)."""

    key_result = serializers.IntegerField(source="key_result_id", allow_null=True)
    dependency = serializers.IntegerField(source="dependency_id", allow_null=True)
    trade_off = serializers.IntegerField(source="trade_off_id", allow_null=True)
    response = serializers.IntegerField(source="response_id", allow_null=True)


class FactorSerializer(serializers.ModelSerializer):
    author = PersonSerializer(read_only=True)
    evidence = EvidenceSerializer(source="*", read_only=True)

    class Meta:
        model = ContributingFactor
        fields = ["id", "text", "evidence", "author", "created_at"]
        read_only_fields = fields


class DecisionSerializer(serializers.ModelSerializer):
    owner = PersonSerializer(read_only=True)
    takes_effect = ReviewNamedRef(read_only=True)
    evidence = EvidenceSerializer(source="*", read_only=True)
    setting_team = ReviewNamedRef(read_only=True, allow_null=True)

    class Meta:
        model = StructuralDecision
        fields = [
            "id",
            "review",
            "what_changes",
            "why",
            "evidence",
            "owner",
            "takes_effect",
            "success_check",
            "follow_up_on",
            "setting",
            "setting_team",
            "setting_value",
            "applied_at",
            "created_at",
        ]
        read_only_fields = fields


class FollowUpSerializer(serializers.ModelSerializer):
    verdict_display = serializers.CharField(source="get_verdict_display", read_only=True)
    by = PersonSerializer(read_only=True)

    class Meta:
        model = DecisionFollowUp
        fields = ["id", "decision", "review", "verdict", "verdict_display", "note", "by", "at"]
        read_only_fields = fields


class ReviewSerializer(serializers.ModelSerializer):
    """A review; ``team`` is null for the organisation's."""

    quarter = ReviewNamedRef(read_only=True)
    team = ReviewNamedRef(read_only=True, allow_null=True)
    closed_by = PersonSerializer(read_only=True, allow_null=True)
    factor_count = serializers.IntegerField(read_only=True)
    decision_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "quarter",
            "team",
            "status",
            "opened_at",
            "closed_at",
            "closed_by",
            "factor_count",
            "decision_count",
        ]
        read_only_fields = fields


class ReviewDetailSerializer(ReviewSerializer):
    """A review with its factors and decisions, the previous review's decisions it must follow
    up, and the follow-ups marked so far."""

    factors = FactorSerializer(many=True, read_only=True)
    decisions = DecisionSerializer(many=True, read_only=True)
    decisions_to_follow_up = serializers.SerializerMethodField()
    follow_ups = FollowUpSerializer(many=True, read_only=True)

    class Meta(ReviewSerializer.Meta):
        fields = [
            *ReviewSerializer.Meta.fields,
            "factors",
            "decisions",
            "decisions_to_follow_up",
            "follow_ups",
        ]
        read_only_fields = fields

    @extend_schema_field(DecisionSerializer(many=True))
    def get_decisions_to_follow_up(self, review: Review) -> list[dict[str, Any]]:
        decisions = services.decisions_to_follow_up(review).select_related(
            "setting_team", "takes_effect"
        )
        return list(DecisionSerializer(decisions, many=True).data)


# --- writing ------------------------------------------------------------------------------------


def _text(help_text: str) -> serializers.CharField:
    return serializers.CharField(max_length=TEXT_MAX, allow_blank=True, help_text=help_text)


class EvidenceInput(serializers.Serializer):
    key_result = IdField(
        queryset=KeyResult.objects.all(),
        required=False,
        allow_null=True,
        help_text="Key result id.",
    )
    dependency = IdField(
        queryset=Dependency.objects.all(),
        required=False,
        allow_null=True,
        help_text="Dependency id.",
    )
    trade_off = IdField(
        queryset=TradeOff.objects.all(), required=False, allow_null=True, help_text="Trade-off id."
    )
    response = IdField(
        queryset=MissResponse.objects.all(),
        required=False,
        allow_null=True,
        help_text="Response (to a missed commitment) id.",
    )


class FactorInput(EvidenceInput):
    """A contributing factor: the text and at least one piece of evidence of the quarter."""

    text = _text("What contributed to how the quarter went.")


class DecisionInput(EvidenceInput):
    """A structural decision: what changes in how we operate (not a new goal), why with at
    least one piece of evidence, its owner, the quarter it takes effect in (after the reviewed
    one), how we will know it worked, its follow-up date (in that quarter) and optionally a
    setting it changes."""

    what_changes = _text("What changes in how the organisation operates.")
    why = _text("Why, with the evidence linked.")
    owner = IdField(queryset=get_user_model().objects.all(), help_text="Its owner (user id).")
    takes_effect = IdField(
        queryset=Quarter.objects.all(),
        help_text="The quarter it takes effect in (id), starting after the reviewed one.",
    )
    success_check = _text("How we will know it worked: an observable check.")
    follow_up_on = serializers.DateField(help_text="When it is followed up (in that quarter).")
    setting = serializers.ChoiceField(
        choices=[("", "None"), *services.setting_choices()],
        required=False,
        allow_blank=True,
        default="",
        help_text="A setting it changes, applied when the quarter starts.",
    )
    setting_team = IdField(
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        help_text="The team, for TEAM_OBJECTIVE_LIMIT.",
    )
    setting_value = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=-1_000_000,
        max_value=1_000_000,
        help_text="The new value.",
    )


class FollowUpInput(serializers.Serializer):
    verdict = serializers.ChoiceField(
        choices=DecisionFollowUp.Verdict.choices,
        help_text="working (done and working), not_working (done, not working) or not_done.",
    )
    note = _text("What happened with it.")


REVIEW_EXAMPLE = {
    "id": 4,
    "quarter": {"id": 2, "name": "2026 Q4"},
    "team": None,
    "status": "open",
    "opened_at": "2026-12-31T00:02:00Z",
    "closed_at": None,
    "closed_by": None,
    "factor_count": 1,
    "decision_count": 1,
}
DECISION_EXAMPLE = {
    "id": 9,
    "review": 4,
    "what_changes": "Dependency requests are made in week 0 with a named person.",
    "why": "Three of the five missed key results waited on a request made in week 6.",
    "evidence": {"key_result": 12, "dependency": 31, "trade_off": None, "response": None},
    "owner": {"id": 4, "username": "lena", "display_name": "Lena Lead"},
    "takes_effect": {"id": 3, "name": "2027 Q1"},
    "success_check": "Every dependency of 2027 Q1 is requested by its first Friday.",
    "follow_up_on": "2027-02-15",
    "setting": "",
    "setting_team": None,
    "setting_value": None,
    "applied_at": None,
    "created_at": "2027-01-05T10:00:00Z",
}
FACTOR_EXAMPLE = {
    "id": 5,
    "text": "Platform's outage took two engineers for three weeks.",
    "evidence": {"key_result": 12, "dependency": None, "trade_off": None, "response": None},
    "author": {"id": 4, "username": "lena", "display_name": "Lena Lead"},
    "created_at": "2027-01-05T10:00:00Z",
}
FOLLOW_UP_EXAMPLE = {
    "id": 2,
    "decision": 9,
    "review": 6,
    "verdict": "not_done",
    "verdict_display": "Not done",
    "note": "Nobody owned the week-0 request list.",
    "by": {"id": 1, "username": "leo", "display_name": "Leo Leader"},
    "at": "2027-04-02T10:00:00Z",
}
DETAIL_EXAMPLE = {
    **REVIEW_EXAMPLE,
    "factors": [FACTOR_EXAMPLE],
    "decisions": [DECISION_EXAMPLE],
    "decisions_to_follow_up": [],
    "follow_ups": [],
}
NO_DECISION = {
    "code": "structural_decision_required",
    "detail": services.NO_DECISION_MESSAGE,
}
FOLLOW_UP_REQUIRED = {
    "code": "follow_up_required",
    "decisions": [9],
    "detail": "Mark every decision of last quarter's review first (done and working, done but "
    "not working, or not done): “Dependency requests are made in week 0 with a named person.”.",
}
NO_EVIDENCE = {
    "key_result": ["Link it to evidence: a key result, a dependency, a trade-off or a response."]
}
NOT_ALLOWED = {"detail": "Only leadership runs the organisation's review."}


def _refusals(*examples: OpenApiExample) -> dict[int, OpenApiResponse]:
    return {
        400: OpenApiResponse(
            ERROR_REF,
            description="A field is missing or malformed, or the request breaks a rule of the "
            "review: the body says what to change.",
            examples=list(examples),
        ),
        403: OpenApiResponse(
            ERROR_REF,
            description="Leadership runs the organisation's review; a team's leads or "
            "leadership run the team's.",
            examples=[OpenApiExample("Not allowed", NOT_ALLOWED)],
        ),
    }


FILTERS = [
    OpenApiParameter("quarter", int, description="Only this quarter's reviews (id)."),
    OpenApiParameter(
        "team", int, description="Only this team's reviews (id); 0: the organisation's."
    ),
]


@extend_schema_view(
    list=extend_schema(
        parameters=FILTERS,
        examples=[OpenApiExample("A review", REVIEW_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        responses=ReviewDetailSerializer,
        examples=[OpenApiExample("A review", DETAIL_EXAMPLE, response_only=True)],
    ),
)
class ReviewViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Review]
):
    """Quarterly reviews, newest quarter first: the organisation's and the teams'. Every
    signed-in person reads them; leadership (a team's leads, for the team's) runs them."""

    serializer_class = ReviewSerializer
    queryset = Review.objects.none()

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return ReviewDetailSerializer if self.action == "retrieve" else ReviewSerializer

    def get_queryset(self) -> QuerySet[Review]:
        queryset = Review.objects.select_related("quarter", "team", "closed_by").annotate(
            factor_count=Count("factors", distinct=True),
            decision_count=Count("decisions", distinct=True),
        )
        if self.action == "retrieve":
            return queryset.prefetch_related(
                "factors__author",
                "decisions__owner",
                "decisions__takes_effect",
                "decisions__setting_team",
                "follow_ups__by",
            )
        if self.action != "list":
            return queryset
        params = self.request.query_params
        quarter = id_param(params, "quarter")
        if quarter is not None:
            queryset = queryset.filter(quarter_id=quarter)
        if params.get("team", "") == "0":
            queryset = queryset.filter(team__isnull=True)
        else:
            team = id_param(params, "team")
            if team is not None:
                queryset = queryset.filter(team_id=team)
        return queryset.order_by("-quarter__start", "team__name", "pk")

    def _detail(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        self.action = "retrieve"
        return Response(ReviewDetailSerializer(self.get_queryset().get(pk=pk)).data, status=code)

    @extend_schema(
        request=FactorInput,
        responses={201: FactorSerializer, **_refusals(OpenApiExample("No evidence", NO_EVIDENCE))},
        examples=[
            OpenApiExample(
                "Add a factor",
                {"text": FACTOR_EXAMPLE["text"], "key_result": 12},
                request_only=True,
            ),
            OpenApiExample("Added", FACTOR_EXAMPLE, response_only=True),
        ],
    )
    @action(detail=True, methods=["post"])
    def factors(self, request: Request, pk: str | None = None) -> Response:
        """Add a contributing factor, linked to at least one piece of the quarter's evidence."""
        review = self.get_object()
        body = FactorInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        factor = services.factor_add(
            user=api_user(request),
            review=review,
            text=data["text"],
            key_result=data.get("key_result"),
            dependency=data.get("dependency"),
            trade_off=data.get("trade_off"),
            response=data.get("response"),
        )
        return Response(FactorSerializer(factor).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=DecisionInput,
        responses={
            201: DecisionSerializer,
            **_refusals(OpenApiExample("No evidence", NO_EVIDENCE)),
        },
        examples=[
            OpenApiExample(
                "Add a decision",
                {
                    "what_changes": DECISION_EXAMPLE["what_changes"],
                    "why": DECISION_EXAMPLE["why"],
                    "key_result": 12,
                    "dependency": 31,
                    "owner": 4,
                    "takes_effect": 3,
                    "success_check": DECISION_EXAMPLE["success_check"],
                    "follow_up_on": "2027-02-15",
                },
                request_only=True,
            ),
            OpenApiExample(
                "A decision that changes a team's objective limit",
                {
                    "what_changes": "Growth's objective limit goes from 4 to 3.",
                    "why": "Growth missed two of four objectives; one was added mid-quarter.",
                    "trade_off": 7,
                    "owner": 4,
                    "takes_effect": 3,
                    "success_check": "Growth ends 2027 Q1 with no objective below 0.4.",
                    "follow_up_on": "2027-03-01",
                    "setting": "TEAM_OBJECTIVE_LIMIT",
                    "setting_team": 2,
                    "setting_value": 3,
                },
                request_only=True,
            ),
            OpenApiExample("Added", DECISION_EXAMPLE, response_only=True),
        ],
    )
    @action(detail=True, methods=["post"])
    def decisions(self, request: Request, pk: str | None = None) -> Response:
        """Add a structural decision: what changes in how the organisation operates."""
        review = self.get_object()
        body = DecisionInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        decision = services.decision_add(
            user=api_user(request),
            review=review,
            what_changes=data["what_changes"],
            why=data["why"],
            owner=data["owner"],
            takes_effect=data["takes_effect"],
            success_check=data["success_check"],
            follow_up_on=data["follow_up_on"],
            key_result=data.get("key_result"),
            dependency=data.get("dependency"),
            trade_off=data.get("trade_off"),
            response=data.get("response"),
            setting=data.get("setting") or "",
            setting_team=data.get("setting_team"),
            setting_value=data.get("setting_value"),
        )
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=FollowUpInput,
        parameters=[
            OpenApiParameter(
                "decision_id", int, OpenApiParameter.PATH, description="The decision (id)."
            )
        ],
        responses={
            200: FollowUpSerializer,
            **_refusals(
                OpenApiExample(
                    "Not last quarter's",
                    {
                        "decision": [
                            "Only last quarter's decisions of the same review are followed up here."
                        ]
                    },
                )
            ),
        },
        examples=[
            OpenApiExample(
                "Mark a decision not done",
                {"verdict": "not_done", "note": FOLLOW_UP_EXAMPLE["note"]},
                request_only=True,
            ),
            OpenApiExample("Marked", FOLLOW_UP_EXAMPLE, response_only=True),
        ],
    )
    @action(detail=True, methods=["post"], url_path=r"follow-up/(?P<decision_id>[0-9]{1,19})")
    def follow_up(self, request: Request, decision_id: str, pk: str | None = None) -> Response:
        """Mark one of last quarter's decisions: done and working, done but not working, or
        not done, with a note (marking again corrects it while the review is open). Not done
        in two reviews in a row opens a response to a missed commitment."""
        review = self.get_object()
        number = int(decision_id)
        decision = (
            StructuralDecision.objects.filter(pk=number).first() if number <= ID_MAX else None
        )
        if decision is None:
            raise Http404("No such decision.")
        body = FollowUpInput(data=request.data)
        body.is_valid(raise_exception=True)
        follow_up = services.follow_up_mark(
            user=api_user(request),
            review=review,
            decision=decision,
            verdict=body.validated_data["verdict"],
            note=body.validated_data["note"],
        )
        return Response(FollowUpSerializer(follow_up).data)

    @extend_schema(
        request=None,
        responses={
            200: ReviewDetailSerializer,
            **_refusals(
                OpenApiExample("No structural decision", NO_DECISION),
                OpenApiExample("Last quarter's decisions unmarked", FOLLOW_UP_REQUIRED),
            ),
        },
        examples=[
            OpenApiExample("Closed", {**DETAIL_EXAMPLE, "status": "closed"}, response_only=True)
        ],
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        """Close the review: refused without a structural decision (400, code
        ``structural_decision_required``) or while last quarter's decisions are unmarked
        (``follow_up_required``). The organisation's review closes its quarter."""
        review = self.get_object()
        services.review_close(user=api_user(request), review=review)
        return self._detail(review.pk)
