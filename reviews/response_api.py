"""Responses to missed commitments (rule 10) over the API: the list and one response (the same
selectors as the pages), recording the conversation, cause and next step, and marking the next
step done (the same services, with their rights and rules)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from objectives.api import ERROR_REF, IdField
from okrly.api import PersonSerializer, api_user
from okrly.errors import RuleBroken
from okrly.params import id_param
from reviews import response_selectors as selectors
from reviews import responses as services
from reviews.models import MissResponse, ResponseCause

GAP_MAX = 10_000
WHAT_MAX = 2_000
PARTICIPANTS_MAX = 50


# --- reading ------------------------------------------------------------------------------------


class ResponseKeyResultRef(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()


class ResponseDependencyRef(serializers.Serializer):
    id = serializers.IntegerField()
    deliverable = serializers.CharField()
    due_date = serializers.DateField()


class ResponseNamedRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ResponseNextStepSerializer(serializers.Serializer):
    what = serializers.CharField()
    owner = PersonSerializer()
    due = serializers.DateField()
    done_at = serializers.DateTimeField(allow_null=True)


class MissResponseSerializer(serializers.ModelSerializer):
    """A response in its four parts; ``state`` is awaiting, overdue, in_progress or done."""

    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    key_result = ResponseKeyResultRef(read_only=True)
    team = ResponseNamedRef(source="key_result.objective.team", read_only=True)
    dependency = ResponseDependencyRef(read_only=True, allow_null=True)
    accountable = PersonSerializer(read_only=True)
    holder = PersonSerializer(read_only=True, allow_null=True)
    state = serializers.ChoiceField(choices=selectors.STATES, read_only=True)
    participants = PersonSerializer(many=True, read_only=True)
    cause = ResponseNamedRef(read_only=True, allow_null=True)
    # None when the response is not recorded yet (DRF reads a missing one-to-one as None).
    next_step = ResponseNextStepSerializer(read_only=True, allow_null=True)

    class Meta:
        model = MissResponse
        fields = [
            "id",
            "kind",
            "kind_display",
            "quarter",
            "key_result",
            "team",
            "dependency",
            "accountable",
            "holder",
            "state",
            "committed",
            "delivered",
            "opened_at",
            "due_at",
            "conversation_on",
            "participants",
            "cause",
            "gap",
            "recorded_at",
            "next_step",
        ]
        read_only_fields = fields


# --- writing ------------------------------------------------------------------------------------


def _people_field(**kwargs: Any) -> IdField:
    return IdField(queryset=get_user_model().objects.all(), **kwargs)


class ResponseNextStepInput(serializers.Serializer):
    what = serializers.CharField(max_length=WHAT_MAX, allow_blank=True, help_text="What.")
    owner = _people_field(help_text="Who owns it (user id).")
    due = serializers.DateField(help_text="When it is due (not in the past).")


class ResponseRecordSerializer(serializers.Serializer):
    """The whole record, every time (a correction sends it all again)."""

    conversation_on = serializers.DateField(
        help_text="When the conversation took place (not in the future)."
    )
    participants = serializers.ListField(
        child=_people_field(),
        max_length=PARTICIPANTS_MAX,
        help_text="Who took part (user ids): the person accountable and their manager or a "
        "lead of their team, at least.",
    )
    cause = IdField(
        queryset=ResponseCause.objects.all(),
        help_text="The main cause, from the catalogue (id; active causes only).",
    )
    gap = serializers.CharField(
        max_length=GAP_MAX, allow_blank=True, help_text="The gap, examined, in words."
    )
    next_step = ResponseNextStepInput()


RECORD_EXAMPLE = {
    "conversation_on": "2026-11-27",
    "participants": [7, 4],
    "cause": 1,
    "gap": "Two engineers moved to the outage; we did not say so until week 11.",
    "next_step": {"what": "Re-plan the funnel work with Platform", "owner": 7, "due": "2026-12-11"},
}
RESPONSE_EXAMPLE = {
    "id": 3,
    "kind": "kr_missed",
    "kind_display": "Key result missed at the quarter's close",
    "quarter": 1,
    "key_result": {"id": 12, "title": "Raise trial conversion to 60%"},
    "team": {"id": 2, "name": "Growth"},
    "dependency": None,
    "accountable": {"id": 7, "username": "olga", "display_name": "Olga Owner"},
    "holder": {"id": 4, "username": "lena", "display_name": "Lena Lead"},
    "state": "in_progress",
    "committed": "Raise trial conversion to 60%: from 40 to 60 % (increase).",
    "delivered": "45 %: 25% of the way to target.",
    "opened_at": "2026-11-23T10:00:00Z",
    "due_at": "2026-11-30T10:00:00Z",
    "conversation_on": "2026-11-27",
    "participants": [
        {"id": 4, "username": "lena", "display_name": "Lena Lead"},
        {"id": 7, "username": "olga", "display_name": "Olga Owner"},
    ],
    "cause": {"id": 1, "name": "Capacity"},
    "gap": "Two engineers moved to the outage; we did not say so until week 11.",
    "recorded_at": "2026-11-27T15:12:00Z",
    "next_step": {
        "what": "Re-plan the funnel work with Platform",
        "owner": {"id": 7, "username": "olga", "display_name": "Olga Owner"},
        "due": "2026-12-11",
        "done_at": None,
    },
}
MISSING_PARTICIPANT = {
    "participants": [
        "The conversation must include Olga Owner (who answers for the miss) and their "
        "manager Mia Manager or a lead of Growth (Lena Lead)."
    ]
}
NOT_ALLOWED = {
    "detail": "Only the person accountable for the miss, the one holding the conversation or "
    "leadership record a response."
}

# The service names the form's fields; the API's body nests the next step.
_API_FIELDS = {
    "next_step_what": ("next_step", "what"),
    "next_step_owner": ("next_step", "owner"),
    "next_step_due": ("next_step", "due"),
}


def _as_validation_error(error: RuleBroken) -> serializers.ValidationError:
    nested = _API_FIELDS.get(error.field or "")
    if nested is not None:
        return serializers.ValidationError({nested[0]: {nested[1]: [error.message]}})
    if error.field:
        return serializers.ValidationError({error.field: [error.message]})
    return serializers.ValidationError([error.message])


FILTERS = [
    OpenApiParameter("quarter", int, description="Only this quarter's (id)."),
    OpenApiParameter("team", int, description="Only the key results of this team (id)."),
    OpenApiParameter(
        "state",
        str,
        enum=[value for value, _ in selectors.STATES],
        description="Only responses in this state.",
    ),
    OpenApiParameter(
        "person", int, description="Only responses this person (id) is accountable for or holds."
    ),
]


@extend_schema_view(
    list=extend_schema(
        parameters=FILTERS,
        examples=[OpenApiExample("A response", RESPONSE_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        examples=[OpenApiExample("A response", RESPONSE_EXAMPLE, response_only=True)]
    ),
)
class MissResponseViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[MissResponse]
):
    """Responses to missed commitments (rule 10), newest first. They are opened by the jobs
    and services that detect a miss; here they are read, recorded and closed."""

    serializer_class = MissResponseSerializer

    def get_queryset(self) -> QuerySet[Any]:
        now = timezone.now()
        queryset = selectors.with_participants(
            selectors.annotated(now, timezone.localdate(now))
        ).order_by("-opened_at", "-pk")
        if self.action != "list":
            return queryset
        params = self.request.query_params
        for name, lookup in (("quarter", "quarter_id"), ("team", "key_result__objective__team_id")):
            pk = id_param(params, name)
            if pk is not None:
                queryset = queryset.filter(**{lookup: pk})
        state = params.get("state", "")
        if state:
            if state not in selectors.STATE_LABELS:
                raise serializers.ValidationError(
                    {"state": ["Choose one of: " + ", ".join(selectors.STATE_LABELS) + "."]}
                )
            queryset = queryset.filter(state=state)
        person = id_param(params, "person")
        if person is not None:
            queryset = queryset.filter(Q(accountable_id=person) | Q(holder_id=person))
        return queryset

    def _answer(self, pk: int) -> Response:
        return Response(MissResponseSerializer(self.get_queryset().get(pk=pk)).data)

    @extend_schema(
        request=ResponseRecordSerializer,
        responses={
            200: MissResponseSerializer,
            400: OpenApiResponse(
                ERROR_REF,
                description="A field is missing or malformed, or the record breaks a rule: "
                "the body says what to change.",
                examples=[OpenApiExample("A required participant missing", MISSING_PARTICIPANT)],
            ),
            403: OpenApiResponse(
                ERROR_REF,
                description="Only the person accountable, the one holding the conversation "
                "or leadership record a response.",
                examples=[OpenApiExample("Not allowed", NOT_ALLOWED)],
            ),
        },
        examples=[
            OpenApiExample("Record the conversation", RECORD_EXAMPLE, request_only=True),
            OpenApiExample("Recorded", RESPONSE_EXAMPLE, response_only=True),
        ],
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Record (or correct, until the next step is done) the conversation, the cause and
        gap, and the next step. The whole record is sent every time."""
        response = self.get_object()
        body = ResponseRecordSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            services.response_record(
                user=api_user(request),
                response=response,
                conversation_on=data["conversation_on"],
                participants=list(data["participants"]),
                cause=data["cause"],
                gap=data["gap"],
                next_step_what=data["next_step"]["what"],
                next_step_owner=data["next_step"]["owner"],
                next_step_due=data["next_step"]["due"],
            )
        except RuleBroken as error:
            raise _as_validation_error(error) from error
        return self._answer(response.pk)

    @extend_schema(
        request=None,
        responses={
            200: MissResponseSerializer,
            400: OpenApiResponse(
                ERROR_REF,
                description="No next step recorded yet, or it is done already.",
                examples=[OpenApiExample("Done already", ["The next step is already done."])],
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="next-step-done")
    def next_step_done(self, request: Request, pk: str | None = None) -> Response:
        """Mark the next step done (its owner, the one holding the conversation, or
        leadership); its ladder stops and the response is done."""
        response = self.get_object()
        services.next_step_done(user=api_user(request), response=response)
        return self._answer(response.pk)
