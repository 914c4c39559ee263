"""Redis stops while people check in: nothing typed is lost, and nothing is e-mailed twice.

Real processes throughout: a redis-server of the test's own on a free port (the cache, the
sessions' cache and the broker, as in production), gunicorn with the production settings
(``tests/integration/outage_settings.py``) on the test database, and after Redis is back, a
Celery worker. The test stops Redis after the first check-ins, submits the rest over HTTP,
signs in and reads a page during the outage, then restarts Redis and lets the e-mail sweep
deliver every notification the check-ins created.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.header import decode_header, make_header
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlencode

import pytest
import redis
import time_machine
from django.utils import timezone
from rest_framework.authtoken.models import Token

from checkins.models import CheckIn
from okrly.models import Notification, Quarter
from okrly.tasks import notifications_email_sweep, notifications_send_email_task
from tests.factories import (
    PASSWORD,
    KeyResultFactory,
    ObjectiveFactory,
    QuarterFactory,
    TeamFactory,
    UserFactory,
)
from tests.integration.conftest import BASE_DIR, Broker, _database_url, running_worker

pytestmark = pytest.mark.integration

# How long a process may take to start or stop, and a request to be answered.
DEADLINE = 60.0
CHECKINS = 20
BEFORE_OUTAGE = 4  # check-ins submitted while Redis still runs; the rest during the outage


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RedisServer:
    """A redis-server without persistence, started and stopped by the test."""

    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed; the outage test starts its own.")
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + DEADLINE
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    pytest.fail(f"redis-server exited:\n{self.log.read_text(errors='replace')}")
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    time.sleep(0.05)
            pytest.fail(f"redis-server did not answer within {DEADLINE:.0f} s.")
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@dataclass
class Http:
    """Requests to the server under test, keeping the cookies it sets."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=DEADLINE)
        sent = {"Host": "127.0.0.1", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body or None, headers=sent)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, data

    def sign_in(self, username: str) -> tuple[int, bytes]:
        """Through the login form, CSRF token and all; returns the POST's answer."""
        status, body = self.request("GET", "/accounts/login/")
        found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        assert status == 200, body[:500]
        assert found is not None, body[:500]
        form = {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": found[1]}
        return self.request(
            "POST",
            "/accounts/login/",
            body=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(port=_free_port(), log=tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def web(redis_server: RedisServer, transactional_db: Any, tmp_path: Path) -> Iterator[Http]:
    """gunicorn with the production settings, its Redis the test's own; stopped at the end."""
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.integration.outage_settings",
        "OKRLY_OUTAGE_DATABASE_URL": _database_url(),
        "SECRET_KEY": "outage-test-only-7d1e9c3b5a2f4e6d8c0b1a3f5e7d9c2b4a6f8e0d1c3b5a7",
        "ALLOWED_HOSTS": "127.0.0.1",
        "REDIS_URL": redis_server.url,
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("CACHE_URL", "CELERY_BROKER_URL", "DEBUG"):
        env.pop(name, None)
    command = [sys.executable, "-m", "gunicorn", "okrly.wsgi:application"]
    command += [f"--bind=127.0.0.1:{port}", "--workers=2", "--timeout=60"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    client = Http(port)
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited:\n{log.read_text(errors='replace')}")
            try:
                if client.request("GET", "/healthz/")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer within {DEADLINE:.0f} s:\n{log.read_text()}")
            time.sleep(0.1)
        yield client
    finally:
        process.terminate()
        try:
            process.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _organisation() -> list[dict[str, Any]]:
    """Four owners with five key results each, in a quarter that began a week ago (real
    time: the server can't be moved). Each check-in needs something from a helper."""
    today = timezone.localdate()
    quarter = QuarterFactory(
        start=today - timedelta(days=7),
        end=today + timedelta(days=83),
        status=Quarter.Status.ACTIVE,
    )
    team = TeamFactory(name="Growth", slug="growth")
    objective = ObjectiveFactory(quarter=quarter, team=team, title="Grow self-serve revenue")
    helpers = [UserFactory(username=f"helper{n}") for n in range(2)]
    payloads = []
    for n in range(CHECKINS // 5):
        owner = UserFactory(username=f"owner{n}")
        token = Token.objects.create(user=owner).key
        for k in range(5):
            kr = KeyResultFactory(objective=objective, owner=owner, title=f"KR {n}.{k}")
            payload = {
                "key_result": kr.pk,
                "week": 1,
                "status": "at_risk",
                "confidence": "6",
                "biggest_risk": "The outage",
                "value": "30",
                "need": f"A review of {kr.title}",
                "need_person": helpers[k % 2].pk,
            }
            payloads.append({"token": token, "payload": payload})
    return payloads


def _subject(message: Any) -> str:
    return str(make_header(decode_header(message["Subject"])))


def test_checkins_during_a_redis_outage_are_saved_and_emailed_once(
    redis_server: RedisServer, web: Http, tmp_path: Path
) -> None:
    submissions = _organisation()

    def submit(item: dict[str, Any]) -> int:
        status, _ = web.request(
            "POST",
            "/api/checkins/",
            body=json.dumps(item["payload"]).encode(),
            headers={"Authorization": f"Token {item['token']}", "Content-Type": "application/json"},
        )
        return status

    statuses = [submit(item) for item in submissions[:BEFORE_OUTAGE]]
    redis_server.stop()
    statuses += [submit(item) for item in submissions[BEFORE_OUTAGE:]]

    # Every check-in answered 201 and is stored.
    assert statuses == [201] * CHECKINS
    assert CheckIn.objects.count() == CHECKINS
    # Signed-in pages still work: sessions fall back to the database.
    browser = Http(web.port)
    status, page = browser.sign_in("owner0")
    assert status == 302, page[:3000]
    status, page = browser.request("GET", "/")
    assert status == 200, page[:500]
    # healthz names the part that is down, and answers 200: the request path works.
    status, body = web.request("GET", "/healthz/")
    health = json.loads(body)
    assert (status, health["database"]["ok"], health["cache"]["ok"]) == (200, True, False)

    # Redis returns, empty: what was queued before the outage is lost with it.
    redis_server.start()
    broker = Broker(name="redis", url=redis_server.url)
    notifications = list(Notification.objects.select_related("recipient"))
    assert len(notifications) >= CHECKINS  # each check-in's need notified its helper
    with running_worker(broker, tmp_path) as worker:
        queued: list[str] = []

        def delay(ids: list[int]) -> None:
            queued.append(broker.send(notifications_send_email_task, ids))

        # The sweep's own schedule: it resends rows older than a minute.
        with (
            time_machine.travel(timezone.now() + timedelta(minutes=2)),
            mock.patch.object(notifications_send_email_task, "delay", side_effect=delay),
        ):
            notifications_email_sweep()
        assert queued
        for task_id in queued:
            worker.wait_for_task(task_id)
        emails = worker.emails()

    sent = Counter((m["To"], _subject(m)) for m in emails)
    expected = Counter((n.recipient.email, f"[OKRly] {n.subject}") for n in notifications)
    assert sent == expected
    assert set(Notification.objects.values_list("email_status", flat=True)) == {
        Notification.EmailStatus.SENT
    }
