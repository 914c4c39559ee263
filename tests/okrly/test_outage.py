"""A cache, broker or database outage: writes still succeed, sessions still work, /healthz/
names what is down, and pages answer 503 with a page of their own instead of 500.

"Down" here is a Redis address nothing listens on (port 1: connection refused at once).
tests/integration/test_outage.py does the same with real processes.
"""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import Client, RequestFactory, override_settings
from rest_framework.authtoken.models import Token

from checkins.models import CheckIn
from okrly.cache import FailSoftRedisCache
from okrly.celery import app as celery_app
from okrly.views import server_error

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"
DJANGO_REDIS = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DEAD_REDIS}
FAIL_SOFT_REDIS = {"BACKEND": "okrly.cache.FailSoftRedisCache", "LOCATION": DEAD_REDIS}


@override_settings(CACHES={"default": DJANGO_REDIS})
def test_a_checkin_is_saved_while_redis_is_down(
    key_result: Any, owner: Any, frozen_now: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Even Django's own Redis cache, which raises, can't fail the write any more."""
    token = Token.objects.create(user=owner)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/checkins/",
            {"key_result": key_result.pk, "status": "on_track", "confidence": "7"}
            | {"biggest_risk": "None yet", "value": "20"},
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    assert CheckIn.objects.filter(key_result=key_result).count() == 1


# --- the fail-soft cache and sessions ---------------------------------------------------------


def test_the_fail_soft_cache_misses_when_redis_is_down(caplog: pytest.LogCaptureFixture) -> None:
    cache = FailSoftRedisCache(DEAD_REDIS, {})
    cache.set("k", 1)
    assert cache.get("k", "default") == "default"
    assert cache.add("k", 1) is False
    assert cache.get_many(["k"]) == {}
    assert cache.delete("k") is False
    with pytest.raises(ValueError, match="unavailable"):
        cache.incr("k")
    # One warning for the outage, not one per call: Redis is left alone for a few seconds.
    assert caplog.text.count("Cache unavailable") == 1


@override_settings(CACHES={"default": FAIL_SOFT_REDIS})
def test_sign_in_and_pages_work_while_the_session_cache_is_down(owner: Any, password: str) -> None:
    client = Client()
    response = client.post("/accounts/login/", {"username": "olga", "password": password})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


# --- /healthz/ ----------------------------------------------------------------------------------


def _health(client: Client) -> tuple[int, dict[str, Any]]:
    response = client.get("/healthz/")
    return response.status_code, json.loads(response.content)


def test_healthz_reports_each_part_ok(client: Client) -> None:
    status, body = _health(client)
    assert status == 200
    assert body["status"] == "ok"
    assert (body["database"], body["cache"], body["broker"]) == ({"ok": True},) * 3


@override_settings(CACHES={"default": FAIL_SOFT_REDIS})
def test_healthz_with_the_cache_down_is_degraded_but_serving(client: Client) -> None:
    status, body = _health(client)
    assert (status, body["status"]) == (200, "degraded")
    assert body["cache"]["ok"] is False
    assert body["database"]["ok"] is True


@override_settings(CACHES={"default": DJANGO_REDIS})
def test_healthz_is_503_when_sessions_need_the_cache_that_is_down(client: Client) -> None:
    status, body = _health(client)
    assert (status, body["status"]) == (503, "unavailable")
    assert body["needed"] == ["cache", "database"]


def test_healthz_with_the_broker_down_is_degraded_but_serving(client: Client) -> None:
    with mock.patch.dict(celery_app.conf, {"broker_url": DEAD_REDIS}):
        status, body = _health(client)
    assert (status, body["status"]) == (200, "degraded")
    assert body["broker"] == {"ok": False, "error": "OperationalError"}


def test_healthz_is_503_with_the_database_down(client: Client) -> None:
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("down")):
        status, body = _health(client)
    assert (status, body["status"]) == (503, "unavailable")
    assert body["database"] == {"ok": False, "error": "OperationalError"}


# --- the 503 page -------------------------------------------------------------------------------


def test_a_database_outage_is_a_503_page_not_a_500(client_for: Any, owner: Any) -> None:
    client = client_for(owner)
    client.raise_request_exception = False
    with mock.patch("okrly.views.request_quarter", side_effect=OperationalError("gone")):
        response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert b"can&#x27;t reach its database" in response.content


def test_a_database_outage_on_the_api_is_a_503_json(owner: Any) -> None:
    token = Token.objects.create(user=owner)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}", raise_request_exception=False)
    with mock.patch("okrly.api.QuarterViewSet.get_queryset", side_effect=OperationalError("x")):
        response = client.get("/api/quarters/")
    assert response.status_code == 503
    assert "can't reach its database" in response.json()["detail"]


def test_the_503_page_reads_no_database(django_db_blocker: Any) -> None:
    request = RequestFactory().get("/objectives/")
    with django_db_blocker.block():
        try:
            raise OperationalError("connection refused")
        except OperationalError:
            response = server_error(request)
    assert response.status_code == 503
    assert b"Back in a moment" in response.content


def test_any_other_error_stays_a_500() -> None:
    request = RequestFactory().get("/")
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = server_error(request)
    assert response.status_code == 500
