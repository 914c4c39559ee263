"""The signed-in navigation (``okrly_tags.site_nav``): each page marks its own link, the
Admin link is for staff only, the unread count shows, and Sign out is a CSRF-protected POST."""

from __future__ import annotations

import re
from typing import Any

import pytest

from okrly.models import Notification

pytestmark = pytest.mark.django_db


def _current(content: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)" aria-current="page">', content)


@pytest.mark.parametrize(
    ("path", "marked"),
    [
        ("/", ["/"]),
        ("/asked/", ["/asked/"]),
        ("/objectives/", ["/objectives/"]),
        ("/teams/", ["/teams/"]),
        ("/inbox/", ["/inbox/"]),
    ],
)
def test_each_page_marks_its_own_link(
    client_for: Any, owner: Any, path: str, marked: list[str]
) -> None:
    content = client_for(owner).get(path).content.decode()
    nav = content.split('<ul class="nav-links" id="nav-links">')[1].split("</ul>")[0]
    assert _current(nav) == marked


def test_admin_is_offered_to_staff_only(client_for: Any, owner: Any, admin_user: Any) -> None:
    assert ">Admin</a>" not in client_for(owner).get("/").content.decode()
    assert ">Admin</a>" in client_for(admin_user).get("/").content.decode()


def test_the_unread_count_and_a_csrf_protected_sign_out(client_for: Any, owner: Any) -> None:
    Notification.objects.create(recipient=owner, kind="test", subject="Hello")
    client = client_for(owner)
    content = client.get("/").content.decode()
    assert re.search(r'id="unread-badge" class="badge"\s+aria-label="1 unread">1</span>', content)
    form = re.search(r'<form method="post" action="/accounts/logout/".*?</form>', content)
    assert form is not None
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(0))
    assert token is not None
    assert client.cookies.get("csrftoken") is not None


def test_the_links_fold_behind_one_menu_button_that_names_them(client_for: Any, owner: Any) -> None:
    """On a phone the links are behind "Menu" (static/js/okrly.js toggles them); the button
    says which list it opens and whether it is open."""
    content = client_for(owner).get("/").content.decode()
    button = re.search(r"<button[^>]*data-nav-toggle[^>]*>Menu</button>", content)
    assert button is not None
    assert 'aria-controls="nav-links"' in button.group(0)
    assert 'aria-expanded="false"' in button.group(0)
    assert '<ul class="nav-links" id="nav-links">' in content


def test_every_page_names_its_icon_so_browsers_do_not_ask_for_a_missing_one(
    client: Any, client_for: Any, owner: Any
) -> None:
    """Without a named icon a browser asks for /favicon.ico, a 404 in every console."""
    from django.contrib.staticfiles import finders

    for content in (
        client.get("/accounts/login/").content.decode(),
        client_for(owner).get("/").content.decode(),
    ):
        found = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', content)
        assert found is not None
        assert found.group(1).endswith("favicon.svg")
    assert finders.find("favicon.svg") is not None
