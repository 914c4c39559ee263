"""A real Celery worker in a subprocess, on a real broker, against the test database.

The worker runs the test settings, told through environment variables (see
``okrly/settings/test.py``) which broker to consume, and to write its e-mail as files the
test reads. It uses the very database the test writes to, so tests that use it need
``transactional_db``: the worker only sees committed rows.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from django.db import connection

from okrly.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# How long a worker may take to start, or to run a task once it is queued.
DEADLINE = 60.0
# Django's file-based e-mail backend ends each message with this line.
EMAIL_SEPARATOR = b"\n" + b"-" * 79 + b"\n"


@dataclass(frozen=True)
class Broker:
    """Where the test sends tasks and the worker takes them from: one queue of its own."""

    name: str
    url: str
    queue: str = field(default_factory=lambda: f"okrly-test-{uuid.uuid4().hex}")
    transport_options: dict[str, Any] = field(default_factory=dict)

    def send(self, task: Any, *args: Any) -> str:
        """Queue ``task(*args)`` on this broker; returns the task id."""
        with celery_app.connection_for_write(
            self.url, transport_options=self.transport_options
        ) as conn:
            return str(task.apply_async(args=args, connection=conn, queue=self.queue).id)


def _redis_broker() -> Iterator[Broker]:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(
            f"Redis at {url} is not reachable ({exc}). The integration tests need it: start "
            "redis-server, or point REDIS_URL at a running Redis."
        )
    broker = Broker(name="redis", url=url)
    yield broker
    # The queue (empty unless a test failed) and kombu's bindings for it are this test's own
    # keys: they all carry its unique name.
    leftovers = list(client.scan_iter(match=f"*{broker.queue}*"))
    if leftovers:
        client.delete(*leftovers)
    client.close()


@pytest.fixture(params=["redis", "okrlyfs"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Broker]:
    """Redis (production) and the embedded file-system broker (zero-setup mode)."""
    if request.param == "redis":
        yield from _redis_broker()
    else:
        folder = tmp_path / "broker"
        yield Broker(
            name="okrlyfs",
            url="okrlyfs://",
            transport_options={
                "data_folder_in": str(folder / "queue"),
                "data_folder_out": str(folder / "queue"),
                "control_folder": str(folder / "control"),
            },
        )


def _database_url() -> str:
    """The test database as a DATABASE_URL, so that the worker uses the same one."""
    settings = connection.settings_dict
    vendor = connection.vendor
    if vendor == "sqlite":
        name = str(settings["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            pytest.fail(f"The test database {name!r} lives in memory; a worker cannot share it.")
        return f"sqlite:///{name}"
    if vendor == "postgresql":
        user = quote(settings["USER"] or "", safe="")
        password = quote(settings["PASSWORD"] or "", safe="")
        credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
        host = settings["HOST"] or "localhost"
        port = f":{settings['PORT']}" if settings["PORT"] else ""
        return f"postgres://{credentials}{host}{port}/{quote(settings['NAME'], safe='')}"
    pytest.fail(f"No DATABASE_URL for a {vendor} test database.")


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path
    mail_dir: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, *, what: str) -> re.Match[str]:
        """Poll the worker's log until ``pattern`` appears; fail if it dies or takes too long."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if found := re.search(pattern, self.output()):
                return found
            if self.process.poll() is not None:
                pytest.fail(f"The worker exited before {what}:\n{self.output()}")
            time.sleep(0.1)
        pytest.fail(f"No {what} within {DEADLINE:.0f} s. Worker log:\n{self.output()}")

    def wait_for_task(self, task_id: str) -> str:
        """Wait until the worker has run this task; returns the result it logged."""
        found = self.wait_for(
            rf"\[{re.escape(task_id)}\] (succeeded in [\d.e-]+s: (?P<result>.*)|raised|retry)",
            what=f"the end of task {task_id}",
        )
        if found["result"] is None:
            pytest.fail(f"Task {task_id} did not succeed:\n{self.output()}")
        return found["result"]

    def emails(self) -> list[Message]:
        """Every e-mail the worker delivered, in the order of its files."""
        messages = []
        for path in sorted(self.mail_dir.glob("*.log")):
            for chunk in path.read_bytes().split(EMAIL_SEPARATOR):
                if chunk.strip():
                    messages.append(message_from_bytes(chunk))
        return messages


@pytest.fixture
def celery_worker(broker: Broker, transactional_db: Any, tmp_path: Path) -> Iterator[Worker]:
    """A started worker consuming only ``broker.queue``; stopped when the test ends."""
    with running_worker(broker, tmp_path) as worker:
        yield worker


@contextmanager
def running_worker(broker: Broker, tmp_path: Path) -> Iterator[Worker]:
    """Start a worker on ``broker.queue`` now (a test that must start it later calls this
    itself); it is stopped when the block ends."""
    mail_dir = tmp_path / "mail"
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "okrly.settings.test",
        "DATABASE_URL": _database_url(),
        "OKRLY_TEST_BROKER_URL": broker.url,
        "OKRLY_TEST_BROKER_TRANSPORT_OPTIONS": json.dumps(broker.transport_options),
        "OKRLY_TEST_EMAIL_FILE_PATH": str(mail_dir),
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "okrly",
        "worker",
        "--pool=solo",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=INFO",
        f"--queues={broker.queue}",
        f"--hostname={broker.queue}@%h",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    worker = Worker(process=process, log=log, mail_dir=mail_dir)
    try:
        worker.wait_for(r"@\S+ ready\.", what="the worker was ready")
        yield worker
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# The local webhook server standing in for Slack and Teams (issue 16).
from tests.webhooks import webhook  # noqa: E402, F401
