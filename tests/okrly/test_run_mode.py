"""The zero-setup mode that `make run` starts: dev settings, SQLite, embedded broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import django
django.setup()
from django.core.management import call_command
from django.conf import settings
from django.test import Client
call_command("migrate", verbosity=0)
call_command("seed_demo", verbosity=0)
client = Client()
login = client.get("/accounts/login/")
assert login.status_code == 200, login.status_code
css = client.get("/static/css/okrly.css")
htmx = client.get("/static/vendor/htmx-2.0.11/htmx.min.js")
signed_in = client.post("/accounts/login/", {"username": "ana", "password": "okrly-demo"})
assert signed_in.status_code == 302, signed_in.status_code
home = client.get("/")
print(login.status_code, css.status_code, htmx.status_code, home.status_code)
print(settings.DATABASES["default"]["ENGINE"], settings.CELERY_BROKER_URL, settings.EMAIL_BACKEND)
"""


@pytest.mark.integration
def test_dev_settings_serve_pages_and_static_files_from_a_fresh_folder(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "EMAIL_URL"}
    }
    env.update(DJANGO_SETTINGS_MODULE="okrly.settings.dev", OKRLY_VAR_DIR=str(tmp_path / "var"))
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    statuses, config = result.stdout.strip().splitlines()[-2:]
    assert statuses == "200 200 200 200"
    assert config == (
        "django.db.backends.sqlite3 okrlyfs:// django.core.mail.backends.console.EmailBackend"
    )
    assert (tmp_path / "var" / "secret_key").exists()
