"""The Content Security Policy: scripts and styles from this site's files only, so an injected
script would not run. Templates carry no inline script or handler for it to need."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
OKRLY_JS = Path(settings.BASE_DIR) / "static" / "js" / "okrly.js"
# E-mail bodies are read by mail clients, which need inline styles and never see the header.
PAGE_TEMPLATES = [
    p for p in sorted(TEMPLATES.rglob("*.html")) if "emails" not in p.relative_to(TEMPLATES).parts
]

# Markup built in Python for long tables (the template tags): held to the same rules.
MARKUP_MODULES = sorted(Path(settings.BASE_DIR).glob("*/templatetags/*.py"))

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]*\s(on[a-z]+|hx-on[:\w-]*)\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<[^>]*\sstyle\s*=|<style\b", re.IGNORECASE)


def policy(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in directives}


def test_the_page_templates_are_found() -> None:
    names = {p.name for p in PAGE_TEMPLATES}
    assert {"base.html", "dashboard.html", "risks.html", "login.html"} <= names
    assert {"dashboard.py", "okrly_tags.py"} <= {p.name for p in MARKUP_MODULES}


@pytest.mark.parametrize(
    "template",
    PAGE_TEMPLATES + MARKUP_MODULES,
    ids=lambda p: str(p.relative_to(settings.BASE_DIR)),
)
def test_no_template_has_an_inline_script_handler_or_style(template: Path) -> None:
    text = template.read_text()
    assert not INLINE_SCRIPT.findall(text)
    assert not INLINE_HANDLER.findall(text)
    assert not INLINE_STYLE.findall(text)


def test_every_behaviour_attribute_of_the_templates_is_handled_by_okrly_js() -> None:
    used = {
        attr
        for template in PAGE_TEMPLATES + MARKUP_MODULES
        for attr in re.findall(
            r"\s(data-(?:autosubmit|expand|nav-toggle|[a-z]+-on-success))\b", template.read_text()
        )
    }
    assert used == {"data-autosubmit", "data-expand", "data-nav-toggle"}
    script = OKRLY_JS.read_text()
    assert all(f'"{attr}"' in script for attr in used)


def test_htmx_is_configured_to_need_neither_eval_nor_inline_styles(
    client_for: Any, owner: Any
) -> None:
    """No indicator stylesheet, no eval, no script tags, and a swap's settling never copies
    a ``style`` attribute from the old element to the new (an inline style, refused)."""
    import json
    import re

    page = client_for(owner).get("/").content.decode()
    found = re.search(r'<meta name="htmx-config" content=\'([^\']*)\'>', page)
    assert found is not None
    assert json.loads(found.group(1)) == {
        "includeIndicatorStyles": False,
        "allowEval": False,
        "allowScriptTags": False,
        "attributesToSettle": ["class", "width", "height"],
    }


def test_pages_send_a_policy_without_unsafe_inline_or_eval_for_scripts(
    client: Any, client_for: Any, owner: Any, key_result: Any
) -> None:
    responses = [client.get("/accounts/login/")]
    signed_in = client_for(owner)
    for url in ["/", "/objectives/", f"/objectives/key-results/{key_result.pk}/", "/inbox/"]:
        responses.append(signed_in.get(url))
    for response in responses:
        assert response.status_code == 200, response.request["PATH_INFO"]
        directives = policy(response)
        assert directives["default-src"] == ["'self'"]
        assert directives["script-src"] == ["'self'"]
        assert directives["style-src"] == ["'self'"]
        assert directives["object-src"] == ["'none'"]
        assert directives["frame-ancestors"] == ["'none'"]
        body = response.content.decode()
        assert not INLINE_SCRIPT.findall(body)
        assert not INLINE_HANDLER.findall(body)
        assert not INLINE_STYLE.findall(body)


def test_the_api_answers_carry_the_policy_too(client_for: Any, owner: Any) -> None:
    response = client_for(owner).get("/api/quarters/")
    assert response.status_code == 200
    assert policy(response)["script-src"] == ["'self'"]


def test_the_admin_works_under_the_policy(client_for: Any, admin_user: Any) -> None:
    client = client_for(admin_user)
    for url in ["/admin/", "/admin/okrly/team/", "/admin/okrly/team/add/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert policy(response)["script-src"] == ["'self'"]
        # Django's admin loads its scripts from files; its JSON data blocks are not scripts.
        body = response.content.decode()
        assert not re.findall(r"<script(?![^>]*\b(src=|type=\"application/json\"))[^>]*>", body), (
            url
        )


def test_the_api_docs_page_alone_allows_redocs_styles_never_inline_scripts(
    client_for: Any, owner: Any
) -> None:
    response = client_for(owner).get("/api/docs/")
    assert response.status_code == 200
    directives = policy(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'", "'unsafe-inline'"]
    assert directives["worker-src"] == ["blob:"]
    assert not INLINE_SCRIPT.findall(response.content.decode())
