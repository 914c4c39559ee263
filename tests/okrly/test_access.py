"""Sign-in everywhere; admin for staff only; password reset by e-mail."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db

# Pages that must work signed out: signing in (with a password or single sign-on) and
# recovering a password, and the health check.
PUBLIC = {
    "login",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "healthz",
    # An invitation's link: the invitee has no password yet (issue 16).
    "join",
    # Single sign-on's start and the provider's way back (okrly/sso.py; tests/okrly/test_sso.py).
    "oidc_authentication_init",
    "oidc_authentication_callback",
}


def _named_pages() -> list[tuple[str, dict[str, Any]]]:
    """Every named, non-admin, non-API URL of the project, with sample arguments."""
    samples = {
        "pk": 1,
        "objective_pk": 1,
        "key_result_pk": 1,
        "grant_pk": 1,
        "decision_pk": 1,
        "action": "commit",
        "slug": "growth",
        "uidb64": "MQ",
        "token": "x-y",
        "week": 1,
        "user_id": 1,
        "team_id": 1,
    }
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(patterns: list[Any], namespace: str = "") -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin" or str(pattern.pattern).startswith("api/"):
                    continue
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                kwargs = {k: samples[k] for k in pattern.pattern.regex.groupindex}
                found.append((name, kwargs))

    walk(get_resolver().url_patterns)
    # The API schema and its docs page are DRF views: they answer 403, tested below.
    api = {"schema", "api_docs"}
    return [(n, k) for n, k in found if n not in PUBLIC | api and not n.startswith("api_")]


PAGES = _named_pages()


def test_the_page_list_is_not_empty() -> None:
    names = {name for name, _ in PAGES}
    assert {"home", "objectives:list", "inbox", "reviews:dashboard", "logout"} <= names


@pytest.mark.parametrize(("name", "kwargs"), PAGES, ids=[n for n, _ in PAGES])
def test_every_page_sends_anonymous_users_to_sign_in(client: Any, name: str, kwargs: Any) -> None:
    url = reverse(name, kwargs=kwargs)
    response = client.get(url)
    if name == "logout":  # POST-only in Django 5; signed out it has nothing to do
        response = client.post(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
        return
    assert response.status_code == 302, f"{url} answered {response.status_code}"
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize(
    "url",
    [
        "/api/key-results/",
        "/api/teams/",
        "/api/schema/",
        "/api/docs/",
        "/api/dashboard/org/",
        "/api/dashboard/people/",
        "/api/dashboard/teams/1/",
        "/api/dashboard/departments/1/",
    ],
)
def test_api_refuses_anonymous_callers(client: Any, url: str) -> None:
    assert client.get(url).status_code in (401, 403)


def test_signed_in_user_reaches_pages(client_for: Any, outsider: Any) -> None:
    client = client_for(outsider)
    for url in ["/", "/objectives/", "/inbox/", "/dashboard/", "/teams/"]:
        assert client.get(url).status_code == 200, url


def test_admin_refuses_non_staff(client_for: Any, outsider: Any) -> None:
    response = client_for(outsider).get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert client_for(outsider).get("/admin/okrly/team/").status_code == 302


def test_admin_serves_staff(client_for: Any, admin_user: Any) -> None:
    client = client_for(admin_user)
    for url in [
        "/admin/",
        "/admin/okrly/team/",
        "/admin/okrly/quarter/",
        "/admin/okrly/profile/",
        "/admin/okrly/membership/",
        "/admin/objectives/keyresult/",
        f"/admin/auth/user/{admin_user.pk}/change/",
    ]:
        assert client.get(url).status_code == 200, url


def test_login_and_logout(client: Any, owner: Any, password: str) -> None:
    response = client.post(reverse("login"), {"username": owner.username, "password": password})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    client.post(reverse("logout"))
    assert client.get("/").status_code == 302


def test_wrong_password_keeps_the_username(client: Any, owner: Any) -> None:
    response = client.post(reverse("login"), {"username": owner.username, "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert f'value="{owner.username}"'.encode() in response.content


def test_password_reset_sends_a_link_that_sets_a_new_password(
    client: Any, owner: Any, mailoutbox: list[Any]
) -> None:
    client.post(reverse("password_reset"), {"email": owner.email})
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [owner.email]
    link = next(line for line in mailoutbox[0].body.splitlines() if "/accounts/reset/" in line)
    path = link[link.index("/accounts/reset/") :].strip()
    response = client.get(path, follow=True)
    form_url = response.redirect_chain[-1][0]
    new = "a-much-better-passphrase-42"
    response = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password(new)


def test_password_change(client_for: Any, owner: Any, password: str) -> None:
    client = client_for(owner)
    new = "another-long-passphrase-7"
    response = client.post(
        reverse("password_change"),
        {"old_password": password, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password(new)
