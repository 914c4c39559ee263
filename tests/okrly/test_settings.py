"""Settings load from the environment alone, and production refuses to start on a bad value.

Each case runs Django in a subprocess with a clean environment: a valid production
environment with exactly one variable removed or corrupted, so a failure is about that one
variable, and the message has to name it.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent


SHOW_SETTINGS = """
import json
import django
from django.conf import settings

django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SECRET_KEY": settings.SECRET_KEY,
    "ENGINE": db["ENGINE"],
    "NAME": str(db["NAME"]),
    "CONN_MAX_AGE": db["CONN_MAX_AGE"],
    "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    "CELERY_BROKER_TRANSPORT_OPTIONS": settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    "EMAIL_BACKEND": settings.EMAIL_BACKEND,
    "CACHE_BACKEND": settings.CACHES["default"]["BACKEND"],
}))
"""

# Must never show up in an error message.
DB_PASSWORD = "hunter2-db-password"


def valid_production_env() -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "okrly.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"postgres://okrly:{DB_PASSWORD}@db.internal:5432/okrly",
        "ALLOWED_HOSTS": "okr.example.com",
        "REDIS_URL": "redis://redis.internal:6379/0",
    }


def load_settings(env: dict[str, str], var_dir: Path) -> subprocess.CompletedProcess[str]:
    """Start Django with only ``env`` (plus PATH and a private var folder)."""
    # OKRLY_DOTENV=0: a developer's .env in the project folder must not fill in what a test
    # deliberately left out.
    clean = {"PATH": "/usr/bin:/bin", "OKRLY_VAR_DIR": str(var_dir), "OKRLY_DOTENV": "0", **env}
    return subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def improperly_configured_message(stderr: str) -> str:
    prefix = "django.core.exceptions.ImproperlyConfigured: "
    lines = [line for line in stderr.splitlines() if line.startswith(prefix)]
    assert lines, f"start-up did not fail with ImproperlyConfigured:\n{stderr}"
    return lines[-1].removeprefix(prefix)


def test_valid_production_environment_starts(tmp_path: Path) -> None:
    result = load_settings(valid_production_env(), tmp_path)

    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["DEBUG"] is False
    assert loaded["ENGINE"] == "django.db.backends.postgresql"
    assert loaded["CELERY_BROKER_URL"] == "redis://redis.internal:6379/0"
    # Sessions are cached there too: a Redis outage must be a cache miss, not an error.
    assert loaded["CACHE_BACKEND"] == "okrly.cache.FailSoftRedisCache"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        pytest.param("SECRET_KEY", None, id="missing-secret-key"),
        pytest.param("SECRET_KEY", "too-short", id="short-secret-key"),
        pytest.param("SECRET_KEY", "a" * 60, id="simple-secret-key"),
        pytest.param("DATABASE_URL", None, id="missing-database-url"),
        pytest.param("DATABASE_URL", "nonsense", id="database-url-nonsense"),
        pytest.param("DATABASE_URL", "postgres//oops", id="database-url-no-scheme"),
        pytest.param("DATABASE_URL", "http://db.internal/okrly", id="database-url-not-a-db"),
        pytest.param("DATABASE_URL", "postgres://okrly@db.internal:port/okrly", id="db-port"),
        pytest.param("DATABASE_URL", "sqlite:////tmp/okrly.sqlite3", id="database-url-sqlite"),
        pytest.param("ALLOWED_HOSTS", None, id="missing-allowed-hosts"),
        pytest.param("REDIS_URL", None, id="missing-redis-url"),
        pytest.param("DEBUG", "true", id="debug-true"),
        pytest.param("DEBUG", "maybe", id="debug-maybe"),
        pytest.param("CONN_MAX_AGE", "abc", id="conn-max-age-abc"),
        pytest.param("EMAIL_URL", "nonsense", id="email-url-nonsense"),
        pytest.param("EMAIL_URL", "smtp://mailer:pw@smtp.example.com:abc", id="email-url-port"),
        pytest.param("SECURE_SSL_REDIRECT", "ture", id="ssl-redirect-typo"),
    ],
)
def test_production_refuses_to_start_and_names_the_variable(
    tmp_path: Path, variable: str, value: str | None
) -> None:
    env = valid_production_env()
    if value is None:
        del env[variable]
    else:
        env[variable] = value

    result = load_settings(env, tmp_path)

    assert result.returncode != 0
    assert variable in improperly_configured_message(result.stderr)


def test_embedded_broker_is_refused_in_production(tmp_path: Path) -> None:
    env = valid_production_env()
    env["CELERY_BROKER_URL"] = "okrlyfs://"

    result = load_settings(env, tmp_path)

    assert result.returncode != 0
    assert "CELERY_BROKER_URL" in improperly_configured_message(result.stderr)


@pytest.mark.parametrize("url", ["postgres//okrly:{pw}@db/okrly", "mysql-ish://okrly:{pw}@db/x"])
def test_malformed_database_url_error_does_not_print_the_password(tmp_path: Path, url: str) -> None:
    env = valid_production_env()
    env["DATABASE_URL"] = url.format(pw=DB_PASSWORD)

    result = load_settings(env, tmp_path)

    assert result.returncode != 0
    assert "DATABASE_URL" in improperly_configured_message(result.stderr)
    assert DB_PASSWORD not in result.stderr + result.stdout


def dev_env() -> dict[str, str]:
    return {"DJANGO_SETTINGS_MODULE": "okrly.settings.dev"}


def test_dev_generates_a_secret_key_once_and_keeps_it(tmp_path: Path) -> None:
    first = load_settings(dev_env(), tmp_path)
    second = load_settings(dev_env(), tmp_path)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    key = json.loads(first.stdout)["SECRET_KEY"]
    assert len(key) >= 50
    assert (tmp_path / "secret_key").read_text().strip() == key
    # Kept under the var folder, so sessions survive a restart of the dev server.
    assert json.loads(second.stdout)["SECRET_KEY"] == key


def test_dev_uses_a_secret_key_from_the_environment(tmp_path: Path) -> None:
    key = secrets.token_urlsafe(50)

    result = load_settings({**dev_env(), "SECRET_KEY": key}, tmp_path)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["SECRET_KEY"] == key
    assert not (tmp_path / "secret_key").exists()


def test_dev_defaults_are_the_embedded_zero_setup_mode(tmp_path: Path) -> None:
    result = load_settings(dev_env(), tmp_path)

    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["DEBUG"] is True
    assert loaded["ENGINE"] == "django.db.backends.sqlite3"
    assert loaded["NAME"] == str(tmp_path / "okrly.sqlite3")
    assert loaded["CELERY_BROKER_URL"] == "okrlyfs://"
    assert loaded["CELERY_BROKER_TRANSPORT_OPTIONS"]["data_folder_in"] == str(
        tmp_path / "broker" / "queue"
    )
    assert loaded["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_redis_url_becomes_the_broker_outside_production(tmp_path: Path) -> None:
    result = load_settings({**dev_env(), "REDIS_URL": "redis://127.0.0.1:6379/3"}, tmp_path)

    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/3"
    # Only a connect timeout: a hanging Redis must not hold a request that queues a task.
    assert loaded["CELERY_BROKER_TRANSPORT_OPTIONS"] == {"socket_connect_timeout": 2}
