"""Repeated attempts are limited, each by a setting: wrong passwords lock a user name out for
a while (django-axes), API calls are throttled per user (DRF), and password-reset e-mails are
capped per address and per client. A failing cache never turns a limit into a 500."""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from typing import Any
from unittest import mock

import environ
import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from okrly import throttling
from okrly.envcheck import rate_value

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def _sign_in(client: Any, username: str, password: str, address: str = "10.0.0.1") -> Any:
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def _signed_in(response: Any) -> bool:
    return response.status_code == 302 and response.url == reverse(settings.LOGIN_REDIRECT_URL)


# --- sign-in lockout -----------------------------------------------------------------------------


def test_the_lockout_defaults_are_ten_failures_for_fifteen_minutes() -> None:
    assert settings.AXES_FAILURE_LIMIT == 10
    assert timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_ten_wrong_passwords_lock_the_user_name_out_for_fifteen_minutes(
    client: Any, owner: Any, password: str
) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert _sign_in(client, owner.username, "wrong").status_code == 200
        locked = _sign_in(client, owner.username, "wrong")
        assert locked.status_code == 429
        assert "Sign-in paused" in locked.content.decode()
        assert "paused for 15 minutes" in locked.content.decode()

        # Even the right password is refused while locked, and says why.
        refused = _sign_in(client, owner.username, password)
        assert refused.status_code == 429
        assert "_auth_user_id" not in client.session

        clock.shift(timedelta(minutes=14))
        assert _sign_in(client, owner.username, password).status_code == 429
        clock.shift(timedelta(minutes=16))
        assert _signed_in(_sign_in(client, owner.username, password))


def test_the_lockout_is_for_that_user_name_from_that_address_only(
    client: Any, owner: Any, teammate: Any, password: str
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, owner.username, "wrong", address="10.0.0.1")
    assert _sign_in(client, owner.username, password, address="10.0.0.1").status_code == 429
    # Someone else on the same network signs in, and so does Olga from her own address.
    assert _signed_in(_sign_in(client, teammate.username, password, address="10.0.0.1"))
    client.logout()
    assert _signed_in(_sign_in(client, owner.username, password, address="10.0.0.2"))


def test_a_right_password_resets_the_count(client: Any, owner: Any, password: str) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _sign_in(client, owner.username, "wrong")
    assert _signed_in(_sign_in(client, owner.username, password))
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _sign_in(client, owner.username, "wrong")
    assert _signed_in(_sign_in(client, owner.username, password))


@override_settings(AXES_FAILURE_LIMIT=3)
def test_the_failure_limit_is_a_setting(client: Any, owner: Any, password: str) -> None:
    for _ in range(3):
        _sign_in(client, owner.username, "wrong")
    assert _sign_in(client, owner.username, password).status_code == 429


def test_the_admin_sign_in_is_locked_out_too(client: Any, admin_user: Any, password: str) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            "/admin/login/",
            {"username": admin_user.username, "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
        )
    response = client.post(
        "/admin/login/",
        {"username": admin_user.username, "password": password},
        REMOTE_ADDR="10.0.0.1",
    )
    assert response.status_code == 429


def test_an_unknown_user_name_is_locked_out_like_a_known_one(client: Any, owner: Any) -> None:
    """The lockout page says nothing about whether the account exists."""
    pages = []
    for username in (owner.username, "nobody-by-this-name"):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            _sign_in(client, username, "wrong")
        response = _sign_in(client, username, "wrong")
        assert response.status_code == 429
        # The CSRF token differs with every page; nothing else may.
        pages.append(re.sub(r'"X-CSRFToken": "\w+"', "", response.content.decode()))
    assert pages[0] == pages[1]


def test_a_forged_forwarded_for_header_does_not_escape_the_lockout(
    client: Any, owner: Any, password: str
) -> None:
    """With no trusted proxy the address is REMOTE_ADDR, whatever X-Forwarded-For says."""
    for number in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            LOGIN,
            {"username": owner.username, "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{number}",
        )
    response = client.post(
        LOGIN,
        {"username": owner.username, "password": password},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="192.0.2.200",
    )
    assert response.status_code == 429


def test_behind_a_trusted_proxy_the_address_is_the_one_it_appended(rf: Any) -> None:
    request = rf.get("/", REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.7")
    assert throttling.client_address(request) == "10.0.0.254"
    config = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    with override_settings(REST_FRAMEWORK=config):
        # The proxy appended the address it saw; what the client wrote before it is ignored.
        assert throttling.client_address(request) == "192.0.2.7"


# --- API throttling ------------------------------------------------------------------------------


def _rates(**rates: str) -> Any:
    config = copy.deepcopy(settings.REST_FRAMEWORK)
    config["DEFAULT_THROTTLE_RATES"] = {**config["DEFAULT_THROTTLE_RATES"], **rates}
    return override_settings(REST_FRAMEWORK=config)


def test_the_api_rates_default_to_600_a_minute_per_user_and_60_per_address() -> None:
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {
        "user": "600/min",
        "anon": "60/min",
    }


def test_api_calls_past_the_user_rate_answer_429_until_the_minute_is_over(
    client: Any, owner: Any, teammate: Any
) -> None:
    token = Token.objects.create(user=owner)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    with _rates(user="5/min"), time_machine.travel(timezone.now(), tick=False) as clock:
        answers = [client.get("/api/quarters/", **auth).status_code for _ in range(7)]
        assert answers == [200] * 5 + [429] * 2
        refused = client.get("/api/quarters/", **auth)
        assert re.search(r"available in \d+ seconds", refused.json()["detail"])
        assert int(refused["Retry-After"]) <= 60

        # Per user: a teammate calling from the same address is not affected.
        client.force_login(teammate)
        assert client.get("/api/quarters/").status_code == 200

        clock.shift(timedelta(seconds=61))
        assert client.get("/api/quarters/", **auth).status_code == 200


def test_a_failing_cache_lets_api_calls_through(client: Any, owner: Any) -> None:
    """Redis down: the throttle cannot count, so it allows the call and logs, never a 500."""
    broken = mock.Mock()
    broken.get.side_effect = ConnectionError("cache down")
    broken.set.side_effect = ConnectionError("cache down")
    client.force_login(owner)
    with _rates(user="1/min"), mock.patch.object(throttling.UserRateThrottle, "cache", broken):
        answers = [client.get("/api/quarters/").status_code for _ in range(3)]
    assert answers == [200, 200, 200]
    assert broken.get.called


# Nothing listens on port 1: every cache call fails at once, as with Redis stopped.
DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.mark.parametrize(
    "backend",
    [
        # Production's cache (okrly/cache.py): an outage reads as a miss.
        "okrly.cache.FailSoftRedisCache",
        # Django's own, which raises: the throttle itself must let the call through.
        "django.core.cache.backends.redis.RedisCache",
    ],
)
def test_api_calls_and_password_resets_work_with_redis_down(
    client: Any, owner: Any, backend: str
) -> None:
    token = Token.objects.create(user=owner)
    caches = {"default": {"BACKEND": backend, "LOCATION": DEAD_REDIS}}
    with override_settings(CACHES=caches), _rates(user="2/min"):
        answers = [
            client.get("/api/quarters/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code
            for _ in range(4)
        ]
        reset = _reset(client, owner.email)
    assert answers == [200] * 4
    assert reset.status_code == 302
    assert len(mail.outbox) == 1


def test_a_malformed_rate_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("API_THROTTLE_USER", "lots")
    with pytest.raises(ImproperlyConfigured, match="API_THROTTLE_USER is malformed"):
        rate_value(environ.Env(), "API_THROTTLE_USER", default="600/min")
    monkeypatch.setenv("API_THROTTLE_USER", "1000/hour")
    assert rate_value(environ.Env(), "API_THROTTLE_USER", default="600/min") == "1000/hour"


# --- password-reset e-mails ----------------------------------------------------------------------


def _reset(client: Any, email: str, address: str = "10.0.0.1") -> Any:
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=address)


def test_twenty_resets_for_one_address_send_at_most_the_limit(client: Any, owner: Any) -> None:
    assert settings.PASSWORD_RESET_LIMIT == 5
    with time_machine.travel(timezone.now(), tick=False) as clock:
        answers = [_reset(client, owner.email, address=f"10.0.1.{n}") for n in range(20)]
        # Every answer is the same page: the limit is not announced.
        assert {(a.status_code, a.url) for a in answers} == {(302, reverse("password_reset_done"))}
        assert len(mail.outbox) == 5
        assert {m.to[0] for m in mail.outbox} == {owner.email}

        clock.shift(timedelta(minutes=61))
        _reset(client, owner.email.upper(), address="10.0.2.1")
        assert len(mail.outbox) == 6


def test_twenty_resets_from_one_client_send_at_most_the_limit(client: Any, db: Any) -> None:
    from tests.factories import UserFactory

    people = [UserFactory(username=f"reset{n}") for n in range(20)]
    for person in people:
        _reset(client, person.email, address="10.0.0.9")
    assert len(mail.outbox) == 5


def test_the_limit_answers_alike_for_known_and_unknown_addresses(client: Any, owner: Any) -> None:
    for _ in range(6):
        known = _reset(client, owner.email, address="10.0.0.1")
        unknown = _reset(client, "nobody@example.com", address="10.0.0.2")
    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)
    assert len(mail.outbox) == 5


@override_settings(PASSWORD_RESET_LIMIT=2)
def test_the_reset_limit_is_a_setting(client: Any, owner: Any) -> None:
    for n in range(4):
        _reset(client, owner.email, address=f"10.0.3.{n}")
    assert len(mail.outbox) == 2


def test_a_failing_cache_still_sends_the_reset_e_mail(client: Any, owner: Any) -> None:
    broken = mock.Mock()
    broken.get.side_effect = ConnectionError("cache down")
    with mock.patch.object(throttling._PasswordResetThrottle, "cache", broken):
        response = _reset(client, owner.email)
    assert response.status_code == 302
    assert len(mail.outbox) == 1
