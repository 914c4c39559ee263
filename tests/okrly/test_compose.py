"""docker-compose.yml, the Procfile and the Dockerfile agree with the code they start.

Docker does not run here, so the compose file is read as data: its services, commands and
environment are checked against the Django settings and the Celery app, and the production
settings are started in a subprocess with exactly the environment compose would give them.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app

BASE_DIR = Path(__file__).resolve().parent.parent.parent
APP_SERVICES = ("web", "worker", "beat")

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: Any, shell: Mapping[str, str]) -> Any:
    """Substitute variables the way ``docker compose`` does, from ``shell``."""
    if isinstance(value, dict):
        return {key: interpolate(item, shell) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, shell) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"] or "", match["arg"] or ""
        given = shell.get(name)
        if given is not None and (given or not op.startswith(":")):
            return given
        if op.endswith("-"):
            return arg
        if op.endswith("?"):
            pytest.fail(f"compose requires {name}: {arg}")
        return ""

    return INTERPOLATION.sub(substitute, value)


def required_variables(text: str) -> set[str]:
    """Variables compose refuses to start without (``${VAR:?message}``)."""
    return {m["name"] for m in INTERPOLATION.finditer(text) if (m["op"] or "").endswith("?")}


@pytest.fixture(scope="module")
def raw_compose() -> dict[str, Any]:
    # safe_load resolves the x-app anchor and the "<<" merge keys.
    compose: dict[str, Any] = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    return compose


@pytest.fixture(scope="module")
def shell() -> dict[str, str]:
    """What the operator exports: a generated value for every required variable."""
    text = (BASE_DIR / "docker-compose.yml").read_text()
    return {name: secrets.token_urlsafe(50) for name in required_variables(text)}


@pytest.fixture(scope="module")
def services(raw_compose: dict[str, Any], shell: dict[str, str]) -> dict[str, Any]:
    resolved: dict[str, Any] = interpolate(raw_compose["services"], shell)
    return resolved


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the "- NAME=value" form
        env = dict(item.split("=", 1) for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}


def steps(command: str | list[str]) -> list[list[str]]:
    """A service command as the argv of each step (``sh -c "a && b"`` is two steps)."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if argv[:2] == ["sh", "-c"]:
        return [shlex.split(step) for step in argv[2].split("&&")]
    return [argv]


def procfile() -> dict[str, list[str]]:
    processes = {}
    for line in (BASE_DIR / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            processes[name.strip()] = shlex.split(command)
    return processes


def gunicorn_app(argv: list[str]) -> str:
    assert argv[0] == "gunicorn", argv
    return next(arg for arg in argv[1:] if not arg.startswith("-") and ":" in arg)


def test_stack_has_database_broker_web_one_worker_and_one_beat(services: dict[str, Any]) -> None:
    assert set(services) >= {"db", "redis", *APP_SERVICES}
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name in APP_SERVICES:
        depends_on = services[name]["depends_on"]
        assert depends_on["db"]["condition"] == "service_healthy", name
        assert depends_on["redis"]["condition"] == "service_healthy", name


def test_web_migrates_then_serves_the_wsgi_application(services: dict[str, Any]) -> None:
    migrate, serve = steps(services["web"]["command"])

    assert migrate[:3] == ["python", "manage.py", "migrate"]
    assert gunicorn_app(serve) == "okrly.wsgi:application"
    bind = serve[serve.index("--bind") + 1]
    published = [str(port).split(":")[-1] for port in services["web"]["ports"]]
    assert bind.rsplit(":", 1)[1] in published


@pytest.mark.parametrize("role", ["worker", "beat"])
def test_worker_and_beat_run_the_okrly_celery_app(services: dict[str, Any], role: str) -> None:
    (argv,) = steps(services[role]["command"])

    assert argv[:4] == ["celery", "-A", "okrly", role]
    # How the celery command line resolves "-A okrly".
    from okrly.celery import app

    assert find_app("okrly") is app


def test_beat_schedule_names_only_registered_tasks() -> None:
    from okrly.celery import app

    assert isinstance(app, Celery)
    schedule = app.conf.beat_schedule
    assert schedule
    # What a worker does at start: import each installed app's tasks module.
    app.loader.import_default_modules()
    unregistered = {entry["task"] for entry in schedule.values()} - set(app.tasks)
    assert not unregistered


def test_exactly_one_beat(services: dict[str, Any]) -> None:
    beats = [
        name
        for name, service in services.items()
        for argv in steps(service.get("command") or [])
        if argv[:1] == ["celery"] and ("beat" in argv or "-B" in argv or "--beat" in argv)
    ]

    assert beats == ["beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    assert services["beat"].get("scale", 1) == 1


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_get_every_variable_production_requires(
    services: dict[str, Any], name: str
) -> None:
    env = environment(services[name])

    assert env["DJANGO_SETTINGS_MODULE"] == "okrly.settings.production"
    for variable in ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS"):
        assert env.get(variable), variable
    assert env.get("REDIS_URL") or env.get("CELERY_BROKER_URL")


def test_database_url_points_at_the_db_service(raw_compose: dict[str, Any]) -> None:
    # The same operator-chosen password must reach both sides.
    password = secrets.token_urlsafe(16)
    services = interpolate(
        raw_compose["services"], {"SECRET_KEY": "x" * 50, "POSTGRES_PASSWORD": password}
    )
    db_env = environment(services["db"])

    for name in APP_SERVICES:
        url = environ.Env.db_url_config(environment(services[name])["DATABASE_URL"])
        assert url["ENGINE"] == "django.db.backends.postgresql"
        assert url["HOST"] == "db"
        assert url["PORT"] in ("", 5432)
        assert url["NAME"] == db_env["POSTGRES_DB"]
        assert url["USER"] == db_env["POSTGRES_USER"]
        assert url["PASSWORD"] == db_env["POSTGRES_PASSWORD"] == password


def test_redis_url_points_at_the_redis_service(services: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        env = environment(services[name])
        url = urlsplit(env.get("CELERY_BROKER_URL") or env["REDIS_URL"])
        assert url.scheme in ("redis", "rediss"), name
        assert url.hostname == "redis", name
        assert url.port in (None, 6379), name


def test_procfile_starts_the_same_modules_as_compose(services: dict[str, Any]) -> None:
    processes = procfile()
    migrate, serve = steps(services["web"]["command"])

    assert processes["release"][:3] == migrate[:3]
    assert gunicorn_app(processes["web"]) == gunicorn_app(serve)
    for role in ("worker", "beat"):
        assert processes[role][:4] == steps(services[role]["command"])[0][:4]
    assert [name for name, argv in processes.items() if "beat" in argv] == ["beat"]


def test_dockerfile_defaults_to_production_and_the_wsgi_application() -> None:
    dockerfile = (BASE_DIR / "Dockerfile").read_text()

    assert "DJANGO_SETTINGS_MODULE=okrly.settings.production" in dockerfile
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert cmd is not None
    assert gunicorn_app(json.loads(cmd[1])) == "okrly.wsgi:application"


def run_with_compose_env(
    env: Mapping[str, str], var_dir: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run Python in a clean environment: compose's variables, and a writable var folder
    where the image would have /app/var."""
    clean = {"PATH": "/usr/bin:/bin", **env, "OKRLY_VAR_DIR": str(var_dir)}
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("name", APP_SERVICES)
def test_production_settings_wsgi_and_celery_load_with_the_compose_environment(
    services: dict[str, Any], name: str, tmp_path: Path
) -> None:
    script = (
        "import django; django.setup()\n"
        "from okrly.wsgi import application\n"
        "from okrly.celery import app\n"
        "app.loader.import_default_modules()\n"
        "print(app.conf.broker_url, sorted(app.conf.beat_schedule))\n"
    )

    result = run_with_compose_env(environment(services[name]), tmp_path, "-c", script)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("redis://redis:6379/0 ")


@pytest.mark.parametrize("ssl_redirect", [None, "true"], ids=["compose-default", "behind-tls"])
def test_check_deploy_is_clean_with_the_compose_environment(
    services: dict[str, Any], ssl_redirect: str | None, tmp_path: Path
) -> None:
    env = environment(services["web"])
    if ssl_redirect is not None:
        env["SECURE_SSL_REDIRECT"] = ssl_redirect

    result = run_with_compose_env(
        env, tmp_path, "manage.py", "check", "--deploy", "--fail-level", "WARNING"
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr


def test_files_the_dockerfile_copies_exist() -> None:
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    sources = [
        source
        for line in dockerfile.splitlines()
        if line.startswith("COPY ")
        for source in line.split()[1:-1]
        if not source.startswith("--")
    ]

    assert sources
    assert [source for source in sources if not (BASE_DIR / source).exists()] == []


def test_collectstatic_of_the_image_build_works_with_production_settings(
    services: dict[str, Any], tmp_path: Path
) -> None:
    # The manifest storage fails on a stylesheet that points at a missing file.
    result = run_with_compose_env(
        environment(services["web"]), tmp_path, "manage.py", "collectstatic", "--noinput"
    )

    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "staticfiles" / "staticfiles.json").read_text())
    assert "vendor/htmx-2.0.11/htmx.min.js" in manifest["paths"]
    assert "css/okrly.css" in manifest["paths"]
