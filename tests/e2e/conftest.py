"""Browser tests drive Debian's Chromium (never a browser Playwright downloads) against
pytest-django's live server, which also serves the static files."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, Request, Response

from tests.oidc import run_provider

CHROMIUM = "/usr/bin/chromium"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        # No sandbox: CI runs as root in a container. The rest keeps the browser from
        # calling home, so the only traffic is the test's own.
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def base_url(live_server: Any) -> str:
    """``page.goto("/inbox/")`` goes to the live server."""
    return str(live_server.url)


@pytest.fixture(scope="session")
def oidc_provider(live_server: Any) -> Iterator[str]:
    """The real OpenID Connect provider (tests/oidc.py), its client's redirect URI OKRly's
    callback on the live server; its address."""
    yield from run_provider(f"{live_server.url}/oidc/callback/")


@pytest.fixture
def demo_org(transactional_db: None) -> None:
    """The demo organisation, committed so that the live server's thread sees it."""
    call_command("seed_demo", stdout=io.StringIO())


class Traffic:
    """Every request the page makes, and every response that failed."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.failures: list[str] = []

    def on_request(self, request: Request) -> None:
        self.urls.append(request.url)

    def on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.failures.append(f"{response.status} {response.url}")

    def external(self) -> list[str]:
        return [
            url
            for url in self.urls
            if urlsplit(url).scheme not in ("data", "blob", "about")
            and urlsplit(url).hostname not in LOCAL_HOSTS
        ]


@pytest.fixture
def traffic(page: Page) -> Traffic:
    recorded = Traffic()
    page.on("request", recorded.on_request)
    page.on("response", recorded.on_response)
    return recorded
