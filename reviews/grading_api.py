"""Grading a key result over the API (issue 13): ``POST /api/key-results/{id}/grade/``, through
the same service as My week's form (reviews.lifecycle.key_result_grade), with its rights and
rules: only the owner, only while the quarter is reviewing, both answers required."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from objectives.api import ERROR_REF
from objectives.models import KeyResult
from okrly.api import api_user
from reviews.lifecycle import TEXT_LIMIT, key_result_grade
from reviews.models import Grade


class GradeRequestSerializer(serializers.Serializer):
    # A string or a number: the service parses it and answers 400 on the field when it is not
    # a value numeric(14, 2) holds.
    final_value = serializers.CharField(max_length=40, help_text="The key result's final value.")
    what_happened = serializers.CharField(max_length=TEXT_LIMIT, help_text="What happened?")
    change_how_we_work = serializers.CharField(
        max_length=TEXT_LIMIT, help_text="What would you change about how we work?"
    )


class GradeSerializer(serializers.ModelSerializer):
    """A key result's grade: the score (0-1, by its direction) and the outcome computed from
    the final value."""

    key_result = serializers.IntegerField(source="key_result_id", read_only=True)
    quarter = serializers.IntegerField(source="quarter_id", read_only=True)
    final_value = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    score = serializers.DecimalField(max_digits=4, decimal_places=3, allow_null=True)
    outcome = serializers.ChoiceField(choices=[*Grade.Outcome.choices, ("", "Not graded")])
    graded_by = serializers.IntegerField(source="graded_by_id", allow_null=True, read_only=True)

    class Meta:
        model = Grade
        fields = [
            "key_result",
            "quarter",
            "final_value",
            "score",
            "outcome",
            "what_happened",
            "change_how_we_work",
            "graded_by",
            "graded_at",
        ]
        read_only_fields = fields


GRADE_EXAMPLE = {
    "final_value": "26",
    "what_happened": "Trials converted well until the pricing change in November.",
    "change_how_we_work": "Agree pricing changes with Sales a quarter ahead.",
}
GRADED_EXAMPLE = {
    "key_result": 12,
    "quarter": 3,
    "final_value": "26.00",
    "score": "0.800",
    "outcome": "achieved",
    "what_happened": GRADE_EXAMPLE["what_happened"],
    "change_how_we_work": GRADE_EXAMPLE["change_how_we_work"],
    "graded_by": 7,
    "graded_at": "2026-12-31T10:00:00Z",
}


class KeyResultGrade(APIView):
    @extend_schema(
        operation_id="key_results_grade",
        request=GradeRequestSerializer,
        responses={
            200: GradeSerializer,
            400: OpenApiResponse(
                ERROR_REF,
                description="A value that is not a number, an answer missing, or the quarter "
                "is not reviewing.",
                examples=[
                    OpenApiExample(
                        "An answer missing", {"what_happened": ["Answer “What happened?”."]}
                    )
                ],
            ),
            403: OpenApiResponse(ERROR_REF, description="Only the key result's owner grades it."),
        },
        examples=[
            OpenApiExample("Grade a key result", GRADE_EXAMPLE, request_only=True),
            OpenApiExample("Graded", GRADED_EXAMPLE, response_only=True),
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        """Grade (or re-grade, while the quarter is reviewing) a key result you own: the final
        value, what happened and what you would change about how we work. The score and
        outcome are computed."""
        key_result = get_object_or_404(KeyResult, pk=pk)
        body = GradeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(body.validated_data)
        grade = key_result_grade(user=api_user(request), key_result=key_result, **data)
        return Response(GradeSerializer(grade).data)
