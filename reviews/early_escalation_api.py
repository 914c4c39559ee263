"""Early escalations (rule 7) over the API: list, raise, answer and redirect, through the same
services and rights as the pages (reviews.early_escalations).

Who sees which: the escalations a person raised, is asked of now, or was asked of before a
redirect; the leadership group sees every one (the ladder's last rung is theirs).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from dependencies.models import Dependency
from objectives.api import ERROR_REF, IdField
from objectives.models import KeyResult
from okrly.access import is_leadership
from okrly.api import PersonSerializer, api_user
from okrly.params import id_param
from reviews import early_escalations as services
from reviews.models import EarlyEscalation, EscalationHop

Status = EarlyEscalation.Status

# --- reading ------------------------------------------------------------------------------------


class _KeyResultRef(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()


class _DependencyRef(serializers.Serializer):
    id = serializers.IntegerField()
    deliverable = serializers.CharField()


class HopSerializer(serializers.ModelSerializer):
    from_person = PersonSerializer(read_only=True)
    to_person = PersonSerializer(read_only=True)

    class Meta:
        model = EscalationHop
        fields = ["from_person", "to_person", "note", "at"]
        read_only_fields = fields


class EarlyEscalationSerializer(serializers.ModelSerializer):
    """An early escalation, its answer (when given) and its redirects, oldest first."""

    key_result = _KeyResultRef(read_only=True)
    dependency = _DependencyRef(read_only=True, allow_null=True)
    raised_by = PersonSerializer(read_only=True)
    asked_of = PersonSerializer(read_only=True)
    answered_by = PersonSerializer(read_only=True, allow_null=True)
    hops = HopSerializer(many=True, read_only=True)

    class Meta:
        model = EarlyEscalation
        fields = [
            "id",
            "key_result",
            "dependency",
            "need",
            "raised_by",
            "asked_of",
            "needed_by",
            "raised_at",
            "answer_due_at",
            "status",
            "answer",
            "answered_by",
            "answered_at",
            "escalation_rung",
            "hops",
        ]
        read_only_fields = fields


# --- writing ------------------------------------------------------------------------------------


def _person_field(help_text: str) -> IdField:
    return IdField(queryset=get_user_model().objects.select_related("profile"), help_text=help_text)


class RaiseSerializer(serializers.Serializer):
    key_result = IdField(
        queryset=KeyResult.objects.select_related("objective__team", "objective__quarter"),
        help_text="What is at risk (key result id): its owner or anyone on its team raises.",
    )
    dependency = IdField(
        queryset=Dependency.objects.all(),
        required=False,
        allow_null=True,
        help_text="Optionally, which of the key result's own dependencies (id).",
    )
    need = serializers.CharField(
        max_length=services.NEED_MAX,
        allow_blank=True,
        help_text="What decision or help is needed.",
    )
    asked_of = _person_field("From whom (user id): active, not yourself, not out of office today.")
    needed_by = serializers.DateField(help_text="By when an answer is needed (not in the past).")


class AnswerSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[Status.DECIDED.value, Status.HELPING.value],
        help_text="decided (with the decision) or helping (with how).",
    )
    answer = serializers.CharField(
        max_length=services.ANSWER_MAX,
        allow_blank=True,
        help_text="The decision, or how you are helping.",
    )


class RedirectSerializer(serializers.Serializer):
    to = _person_field("The person who can answer (user id): active, not out of office.")
    note = serializers.CharField(
        max_length=services.NEED_MAX,
        allow_blank=True,
        required=False,
        default="",
        help_text="Why them.",
    )


PERSON = {"id": 9, "username": "pia", "display_name": "Pia Provider"}
ESCALATION_EXAMPLE = {
    "id": 4,
    "key_result": {"id": 12, "title": "Raise trial conversion to 60%"},
    "dependency": {"id": 3, "deliverable": "SSO for trial accounts"},
    "need": "Decide whether we ship the trial without SSO.",
    "raised_by": {"id": 7, "username": "olga", "display_name": "Olga Owner"},
    "asked_of": {"id": 11, "username": "paul", "display_name": "Paul Platformlead"},
    "needed_by": "2026-12-11",
    "raised_at": "2026-12-04T15:00:00Z",
    "answer_due_at": "2026-12-08T15:00:00Z",
    "status": "decided",
    "answer": "Ship without SSO; SSO follows in January.",
    "answered_by": {"id": 11, "username": "paul", "display_name": "Paul Platformlead"},
    "answered_at": "2026-12-07T09:12:00Z",
    "escalation_rung": 0,
    "hops": [
        {
            "from_person": PERSON,
            "to_person": {"id": 11, "username": "paul", "display_name": "Paul Platformlead"},
            "note": "I am away next week; Paul owns SSO.",
            "at": "2026-12-04T18:00:00Z",
        }
    ],
}
RAISE_EXAMPLE = {
    "key_result": 12,
    "dependency": 3,
    "need": "Decide whether we ship the trial without SSO.",
    "asked_of": 9,
    "needed_by": "2026-12-11",
}
OUT_OF_OFFICE = {
    "code": "out_of_office",
    "person": 9,
    "until": "2026-12-18",
    "detail": "Pia Provider is out of office until Fri 18 Dec 2026: an escalation waiting on "
    "them would not be answered in time. Name someone else (their lead, or whoever covers for "
    "them).",
}
NOT_NAMED = {"detail": "Only Pia Provider, the person it is asked of, answers it."}


def _refusals(bad: OpenApiExample, forbidden: str, example: dict[str, Any]) -> dict[int, Any]:
    return {
        400: OpenApiResponse(
            ERROR_REF,
            description="A field is missing or malformed, or the request breaks a rule: the "
            "body says what to change.",
            examples=[bad],
        ),
        403: OpenApiResponse(
            ERROR_REF, description=forbidden, examples=[OpenApiExample("Not allowed", example)]
        ),
    }


FILTERS = [
    OpenApiParameter(
        "status", str, enum=[value for value, _ in Status.choices], description="Only these."
    ),
    OpenApiParameter("key_result", int, description="Only this key result's (id)."),
]


@extend_schema_view(
    list=extend_schema(
        parameters=FILTERS,
        examples=[OpenApiExample("An escalation", ESCALATION_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        examples=[OpenApiExample("An escalation", ESCALATION_EXAMPLE, response_only=True)]
    ),
)
class EarlyEscalationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[EarlyEscalation]
):
    """Early escalations, newest first: the ones you raised, are asked of, or were asked of
    before a redirect (the leadership group: all). The same query count for 5 or 50."""

    serializer_class = EarlyEscalationSerializer

    def get_queryset(self) -> QuerySet[EarlyEscalation]:
        if getattr(self, "swagger_fake_view", False):
            # The schema generator has no person to scope by; it only needs the model.
            return EarlyEscalation.objects.none()
        user = api_user(self.request)
        queryset = (
            EarlyEscalation.objects.select_related(
                "key_result", "dependency", "raised_by", "asked_of", "answered_by"
            )
            .prefetch_related(
                Prefetch(
                    "hops",
                    queryset=EscalationHop.objects.select_related("from_person", "to_person"),
                )
            )
            .order_by("-raised_at", "-pk")
        )
        if not is_leadership(user):
            redirected = EscalationHop.objects.filter(from_person=user).values("escalation")
            queryset = queryset.filter(Q(raised_by=user) | Q(asked_of=user) | Q(pk__in=redirected))
        if self.action != "list":
            return queryset
        params = self.request.query_params
        wanted = params.get("status", "")
        if wanted:
            if wanted not in Status.values:
                raise serializers.ValidationError(
                    {"status": ["Choose one of: " + ", ".join(Status.values) + "."]}
                )
            queryset = queryset.filter(status=wanted)
        key_result = id_param(params, "key_result")
        if key_result is not None:
            queryset = queryset.filter(key_result_id=key_result)
        return queryset

    def _answer(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        row = self.get_queryset().get(pk=pk)
        return Response(EarlyEscalationSerializer(row).data, status=code)

    @extend_schema(
        request=RaiseSerializer,
        responses={
            201: EarlyEscalationSerializer,
            **_refusals(
                OpenApiExample("The named person is out of office", OUT_OF_OFFICE),
                "Only the key result's owner or a member of its team raises an escalation.",
                {
                    "detail": "Only the key result's owner or a member of Growth raises an "
                    "escalation for it."
                },
            ),
        },
        examples=[OpenApiExample("Raise", RAISE_EXAMPLE, request_only=True)],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Raise an early escalation: what is at risk, the decision or help needed, from whom,
        by when. The answer is due ESCALATION_ANSWER_HOURS working hours later or at the end
        of ``needed_by``, whichever comes first; raising never counts against the owner."""
        body = RaiseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        escalation = services.escalation_raise(
            user=api_user(request),
            key_result=data["key_result"],
            need=data["need"],
            asked_of=data["asked_of"],
            needed_by=data["needed_by"],
            dependency=data.get("dependency"),
        )
        return self._answer(escalation.pk, status.HTTP_201_CREATED)

    @extend_schema(
        request=AnswerSerializer,
        responses={
            200: EarlyEscalationSerializer,
            **_refusals(
                OpenApiExample("No answer", {"answer": ["Say what was decided."]}),
                "Only the person it is asked of answers.",
                NOT_NAMED,
            ),
        },
        examples=[
            OpenApiExample(
                "Decided",
                {"status": "decided", "answer": "Ship without SSO; SSO follows in January."},
                request_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, pk: str | None = None) -> Response:
        """Answer: decided (with the decision) or helping (with how). The ladder stops."""
        escalation = self.get_object()
        body = AnswerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.escalation_answer(
            user=api_user(request),
            escalation=escalation,
            status=body.validated_data["status"],
            answer=body.validated_data["answer"],
        )
        return self._answer(escalation.pk)

    @extend_schema(
        request=RedirectSerializer,
        responses={
            200: EarlyEscalationSerializer,
            **_refusals(
                OpenApiExample("To yourself", {"to": ["Name someone other than yourself."]}),
                "Only the person it is asked of redirects.",
                {"detail": "Only Pia Provider, the person it is asked of, redirects it."},
            ),
        },
        examples=[
            OpenApiExample("Redirect", {"to": 11, "note": "Paul owns SSO."}, request_only=True)
        ],
    )
    @action(detail=True, methods=["post"])
    def redirect(self, request: Request, pk: str | None = None) -> Response:
        """Hand it to the person who can answer; the deadline carries over."""
        escalation = self.get_object()
        body = RedirectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.escalation_redirect(
            user=api_user(request),
            escalation=escalation,
            to=body.validated_data["to"],
            note=body.validated_data["note"],
        )
        return self._answer(escalation.pk)
