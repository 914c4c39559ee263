"""The key-result endpoints with the Accountability Test, and the ownership actions."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from objectives.api import KeyResultSerializer, KeyResultViewSet
from okrly.api import api_user
from ownership import services
from ownership.accountability import accountability_for
from ownership.models import AuthorityGrant, DecisionRight


class AccountabilitySerializer(serializers.Serializer):
    passed = serializers.BooleanField()
    at_risk = serializers.BooleanField()
    checks = serializers.DictField(child=serializers.DictField())
    reasons = serializers.ListField(child=serializers.CharField())
    checkin_risk = serializers.CharField()
    # The trade-off that dropped or deferred it (then never at risk), or null while in play.
    displaced_by_trade_off = serializers.IntegerField(allow_null=True)


class KeyResultAccountabilitySerializer(KeyResultSerializer):
    accountability = serializers.SerializerMethodField()

    class Meta(KeyResultSerializer.Meta):
        fields = [*KeyResultSerializer.Meta.fields, "accountability"]

    @extend_schema_field(AccountabilitySerializer)
    def get_accountability(self, obj: Any) -> dict[str, Any]:
        # Computed once per page for all rows (see the view), never per row.
        results = self.context["accountability"]
        return results[obj.pk].as_dict()


class OwnershipReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class GrantSerializer(serializers.Serializer):
    rights = serializers.PrimaryKeyRelatedField(
        queryset=DecisionRight.objects.filter(active=True), many=True
    )
    scope = serializers.CharField(allow_blank=True)


class RevokeSerializer(OwnershipReasonSerializer):
    grant = serializers.PrimaryKeyRelatedField(queryset=AuthorityGrant.objects.all())


class KeyResultAccountabilityViewSet(KeyResultViewSet):
    serializer_class = KeyResultAccountabilitySerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        rows = list(page) if page is not None else list(self.get_queryset())
        serializer = self.get_serializer(
            rows,
            many=True,
            context={**self.get_serializer_context(), "accountability": accountability_for(rows)},
        )
        return self.get_paginated_response(serializer.data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        kr = self.get_object()
        return Response(self._one(kr))

    def _one(self, kr: Any) -> dict[str, Any]:
        context = {**self.get_serializer_context(), "accountability": accountability_for([kr])}
        return dict(self.get_serializer(kr, context=context).data)

    @extend_schema(request=None, responses=KeyResultAccountabilitySerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        kr = self.get_object()
        services.ownership_accept(key_result=kr, user=api_user(request))
        kr.refresh_from_db()
        return Response(self._one(kr))

    @extend_schema(request=OwnershipReasonSerializer, responses=KeyResultAccountabilitySerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str | None = None) -> Response:
        kr = self.get_object()
        body = OwnershipReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.ownership_decline(
            key_result=kr, user=api_user(request), reason=body.validated_data["reason"]
        )
        return Response(self._one(kr))

    @extend_schema(request=GrantSerializer, responses=KeyResultAccountabilitySerializer)
    @action(detail=True, methods=["post"], url_path="grant-authority")
    def grant_authority(self, request: Request, pk: str | None = None) -> Response:
        kr = self.get_object()
        body = GrantSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.authority_grant(
            key_result=kr,
            user=api_user(request),
            rights=list(body.validated_data["rights"]),
            scope=body.validated_data["scope"],
        )
        return Response(self._one(kr))

    @extend_schema(request=RevokeSerializer, responses=KeyResultAccountabilitySerializer)
    @action(detail=True, methods=["post"], url_path="revoke-authority")
    def revoke_authority(self, request: Request, pk: str | None = None) -> Response:
        kr = self.get_object()
        body = RevokeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        grant = body.validated_data["grant"]
        if grant.key_result_id != kr.pk:
            raise serializers.ValidationError({"grant": ["That grant is for another key result."]})
        services.authority_revoke(
            grant=grant, user=api_user(request), reason=body.validated_data["reason"]
        )
        return Response(self._one(kr))
