"""The real OpenID Connect provider the single sign-on tests sign in through.

``tests/oidc_provider/provider.js`` (panva's oidc-provider, installed by ``make install``'s
``npm ci``) runs as a subprocess on the port the test settings point single sign-on at
(``OIDC_TEST_PORT``), with OKRly's callback on the live server as its client's only redirect
URI. Its accounts (provider.js): ``olga`` (olga@example.com, verified), ``nina`` (an address
no seeded user has) and ``uma`` (olga's address, not verified).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc_provider"
DEADLINE = 30.0


def provider_url() -> str:
    return f"http://127.0.0.1:{settings.OIDC_TEST_PORT}"


def run_provider(redirect_uri: str) -> Iterator[str]:
    """Start the provider, wait for its discovery document, yield its address, stop it."""
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("The test provider is not installed: run `make install` (npm ci).")
    url = provider_url()
    log = Path(settings.VAR_DIR) / "oidc-provider.log"
    log.parent.mkdir(parents=True, exist_ok=True)  # a clean checkout has no var/ yet
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["node", "provider.js", str(settings.OIDC_TEST_PORT), redirect_uri],
            cwd=PROVIDER_DIR,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for_discovery(url, process, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_discovery(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"The test provider exited ({process.returncode}):\n{log.read_text()}")
        try:
            found = requests.get(f"{url}/.well-known/openid-configuration", timeout=1)
        except requests.ConnectionError:
            time.sleep(0.1)  # the process is still starting: poll its port again
            continue
        if found.ok and found.json().get("issuer") == url:
            return
    pytest.fail(f"The test provider did not answer within {DEADLINE:.0f} s:\n{log.read_text()}")
