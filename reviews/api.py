"""The dashboard's figures over the API, from the same selectors as the pages."""

from __future__ import annotations

from typing import Any, cast

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from okrly.models import Quarter, Team
from okrly.params import id_param
from reviews import selectors

QUARTER = OpenApiParameter("quarter", int, description="Quarter id (default: the active one).")


def _quarter(request: Request) -> Quarter:
    pk = id_param(request.query_params, "quarter")
    if pk is not None:
        return get_object_or_404(Quarter, pk=pk)
    quarter = Quarter.objects.current(timezone.localdate())
    if quarter is None:
        raise serializers.ValidationError({"quarter": ["No quarter has been set up yet."]})
    return quarter


def _row(row: selectors.Row) -> dict[str, Any]:
    return {
        "team": {"id": row.team.pk, "name": row.team.name, "slug": row.team.slug},
        "teams_under": row.children,
        **row.signals.as_dict(),
    }


def _leader(row: selectors.LeaderRow) -> dict[str, Any]:
    s = row.signals
    return {
        "id": row.person.pk,
        "username": row.person.get_username(),
        "name": row.person.get_full_name(),
        "teams": row.scope,
        "misses": s.misses,
        "responses_on_time_percent": s.responses_on_time_percent,
        "median_days_to_respond": s.median_response_days,
        "next_steps_on_time_percent": s.steps_on_time_percent,
    }


ORG_RESPONSE = inline_serializer(
    "OrgDashboard",
    {
        "quarter": serializers.DictField(),
        "week": serializers.IntegerField(),
        "headline": serializers.DictField(help_text="The headline figures, as a department's."),
        "surprise_rate": serializers.FloatField(
            allow_null=True,
            help_text="Share (0 to 1) of the quarter's missed commitments never signalled before "
            "they were missed (an at-risk or off-track check-in, a stated-vs-forecast flag, an "
            "early escalation, a dependency flagged at risk). Displaced key results are left "
            "out. Null when nothing was missed.",
        ),
        "median_signal_lead_weeks": serializers.FloatField(
            allow_null=True,
            help_text="Median weeks between a signalled miss's first signal and the miss (one "
            "decimal). Null when no miss was signalled.",
        ),
        "responses_on_time_percent": serializers.IntegerField(
            allow_null=True,
            help_text="Responses to misses recorded within their deadline, as a percentage of "
            "those recorded or past their deadline (open ones not yet due are left out). Null "
            "when none is.",
        ),
        "departments": serializers.ListField(child=serializers.DictField()),
        "consistency": serializers.ListField(
            child=serializers.DictField(),
            help_text="One row per leader (leadership: the whole organisation; a team lead: "
            "the teams they lead and those below): misses, responses_on_time_percent, "
            "median_days_to_respond, next_steps_on_time_percent (null without data).",
        ),
    },
)


class OrgDashboard(APIView):
    @extend_schema(parameters=[QUARTER], responses=ORG_RESPONSE)
    def get(self, request: Request) -> Response:
        quarter = _quarter(request)
        view = selectors.org_view(
            quarter, timezone.localdate(), sort=request.query_params.get("sort", "")
        )
        headline = view.headline
        return Response(
            {
                "quarter": {"id": quarter.pk, "name": quarter.name},
                "week": view.week,
                "headline": headline.as_dict(),
                "surprise_rate": headline.surprise_rate,
                "median_signal_lead_weeks": headline.median_lead_weeks,
                "responses_on_time_percent": headline.responses_on_time_percent,
                "departments": [_row(r) for r in view.departments],
                "consistency": [
                    _leader(r) for r in selectors.consistency_rows(quarter, timezone.localdate())
                ],
            }
        )


class DepartmentDashboard(APIView):
    @extend_schema(parameters=[QUARTER], responses=dict)
    def get(self, request: Request, pk: int) -> Response:
        quarter = _quarter(request)
        department = get_object_or_404(Team, pk=pk)
        rows = selectors.department_teams(quarter, timezone.localdate(), department)
        return Response({"department": department.name, "teams": [_row(r) for r in rows]})


class TeamDashboard(APIView):
    @extend_schema(parameters=[QUARTER], responses=dict)
    def get(self, request: Request, pk: int) -> Response:
        quarter = _quarter(request)
        today = timezone.localdate()
        team = get_object_or_404(Team, pk=pk)
        paginator = PageNumberPagination()
        # Annotated rows (figures as columns); typed loosely for the extra attributes.
        rows: list[Any] = (
            paginator.paginate_queryset(
                cast(Any, selectors.team_key_results(quarter, team, today)), request, view=self
            )
            or []
        )
        results = selectors.team_accountability(rows, today)
        data = [
            {
                "id": kr.pk,
                "title": kr.title,
                "owner": kr.owner.get_username(),
                "progress": kr.progress,
                "latest_checkin": kr.acct_checkin_status or None,
                "confidence": kr.latest_confidence,
                "accountability": results[kr.pk].as_dict(),
                "dependencies_open": kr.deps_open,
                "dependencies_committed": kr.deps_committed,
                "dependencies_escalated": kr.deps_escalated,
                "open_needs": kr.open_needs,
            }
            for kr in rows
        ]
        return paginator.get_paginated_response(data)


class PeopleDashboard(APIView):
    @extend_schema(
        parameters=[QUARTER, OpenApiParameter("team", int, description="Only this team's people.")],
        responses=dict,
    )
    def get(self, request: Request) -> Response:
        quarter = _quarter(request)
        team_pk = id_param(request.query_params, "team")
        team = get_object_or_404(Team, pk=team_pk) if team_pk is not None else None
        paginator = PageNumberPagination()
        people = selectors.people(quarter, timezone.localdate(), team=team)
        # Sliced and counted as a queryset would be (selectors.People).
        rows = paginator.paginate_queryset(cast(Any, people), request, view=self) or []
        return paginator.get_paginated_response(
            [
                {
                    "id": p.pk,
                    "username": p.username,
                    "name": p.get_full_name(),
                    **{name: getattr(p, name) for name in selectors.PEOPLE_FIGURES},
                }
                for p in rows
            ]
        )
