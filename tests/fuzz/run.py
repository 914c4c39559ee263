"""``make fuzz``: schemathesis against a live OKRly, over HTTP, reporting every server error.

1. A fresh SQLite database under ``var/fuzz/`` (never the developer's own: ``DATABASE_URL``
   is replaced, ``FUZZ_DATABASE_URL`` names another), migrated and seeded with the demo
   organisation (``seed_demo``); an API token for the demo's leader, Maya.
2. gunicorn (``okrly.wsgi:application``, the test settings: DEBUG off, so every error is
   the real answer, not a debug page) on a free port; throttling set out of reach, since a
   fuzzer is one very busy client.
3. The schemathesis CLI on ``/api/schema/`` with the token as a header: every operation,
   valid and invalid data, the checks for server errors and for answers that match the
   schema. Its report is printed; its exit status is this command's (0: nothing found).

Run it as ``python -m tests.fuzz.run [--max-examples N] [--seed N]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
VAR = ROOT / "var" / "fuzz"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--max-examples", type=int, default=100, help="per operation")
    parser.add_argument("--seed", type=int, default=1, help="the same seed, the same requests")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    args = parser.parse_args(argv)

    env = _environment()
    _prepare(env)
    # "Generated token <key> for user maya"
    token = _manage(env, "drf_create_token", "maya").split()[2]
    port = _free_port()
    log = VAR / "gunicorn.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "okrly.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={args.workers}",
            "--timeout=120",
            f"--error-logfile={log}",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        _wait_until_up(port, server, log)
        command = [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"http://127.0.0.1:{port}/api/schema/?format=json",
            f"--header=Authorization: Token {token}",
            f"--checks={CHECKS}",
            f"--max-examples={args.max_examples}",
            f"--seed={args.seed}",
            "--continue-on-failure",
            "--no-color",
        ]
        print(f"\nFuzzing http://127.0.0.1:{port}/api/ (gunicorn log: {log})\n", flush=True)
        # Run from var/fuzz/: schemathesis keeps its example database in the working folder.
        return subprocess.run(command, cwd=VAR, env=env, check=False).returncode
    finally:
        server.terminate()  # gunicorn's graceful shutdown of its workers
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _environment() -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "okrly.settings.test",
        "OKRLY_DOTENV": "0",  # a developer's .env must not point the fuzzer at real data
        "OKRLY_VAR_DIR": str(VAR),
        "DATABASE_URL": os.environ.get("FUZZ_DATABASE_URL", f"sqlite:///{VAR / 'okrly.sqlite3'}"),
        "API_THROTTLE_USER": "1000000/min",
        "API_THROTTLE_ANON": "1000000/min",
        "PYTHONUNBUFFERED": "1",
        # Each refused request would log a warning; server errors still log their traceback.
        "LOG_LEVEL": "ERROR",
    }
    # No Redis needed: the cache (and the throttles' counts) stay in each process.
    for name in ("REDIS_URL", "CACHE_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    return env


def _prepare(env: dict[str, str]) -> None:
    if "FUZZ_DATABASE_URL" not in os.environ:
        shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True, exist_ok=True)
    print("Migrating and seeding the demo organisation…", flush=True)
    _manage(env, "migrate", "--noinput", "-v0")
    _manage(env, "seed_demo")


def _manage(env: dict[str, str], *arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(arguments)} failed:\n{done.stderr}")
    return done.stdout.strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=5):
                return
        except urllib.error.HTTPError:
            return  # an answer of any kind: the server is up
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer within 60 s; see {log}")


if __name__ == "__main__":
    sys.exit(main())
