"""``okrly.links.link`` gives what ``reverse()`` gives, for every view of the project that
takes whole numbers, under another script prefix and another URL configuration too."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse, set_script_prefix
from django.urls.exceptions import NoReverseMatch

from okrly.links import link


def _int_views() -> list[tuple[str, int]]:
    """Every named view whose arguments are all ``<int:…>``, with their number."""
    found = []

    def walk(patterns: list[URLPattern | URLResolver], namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, inner)
            elif entry.name:
                converters = getattr(entry.pattern, "converters", {})
                if converters and all(
                    type(c).__name__ == "IntConverter" for c in converters.values()
                ):
                    found.append((f"{namespace}{entry.name}", len(converters)))
                elif not converters and "(?P<" not in str(entry.pattern):
                    found.append((f"{namespace}{entry.name}", 0))

    walk(get_resolver().url_patterns, "")
    return found


INT_VIEWS = _int_views()


def test_the_walk_found_the_views_lists_print() -> None:
    names = {name for name, _ in INT_VIEWS}
    assert {"objectives:key_result", "dependencies:detail", "reviews:team", "home"} <= names


@pytest.mark.parametrize(("name", "arity"), INT_VIEWS, ids=[n for n, _ in INT_VIEWS])
def test_same_path_as_reverse(name: str, arity: int) -> None:
    for ids in ([0] * arity, [1, 22, 333][:arity] + [7] * max(0, arity - 3), [10**12] * arity):
        assert link(name, *ids) == reverse(name, args=ids)


def test_under_another_script_prefix() -> None:
    try:
        set_script_prefix("/okrly/")
        assert link("objectives:key_result", 5) == "/okrly/objectives/key-results/5/"
        assert link("objectives:key_result", 5) == reverse("objectives:key_result", args=[5])
    finally:
        set_script_prefix("/")
    assert link("objectives:key_result", 5) == "/objectives/key-results/5/"


def test_what_it_cannot_shortcut_goes_to_reverse() -> None:
    with pytest.raises(NoReverseMatch):
        link("objectives:key_result", -1)  # the int converter takes no sign
    assert link("team_detail", "platform") == reverse("team_detail", args=["platform"])


@pytest.mark.urls("tests.okrly.other_urls")
def test_another_url_configuration_is_its_own() -> None:
    assert link("thing", 3) == "/elsewhere/3/things/"


def test_a_request_reads_its_prefix_once_and_the_next_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Within a request the prefix and resolver are read once (request_started marks it);
    the next request, under another prefix, reads its own."""
    from django.core.signals import request_finished, request_started

    from okrly import links

    try:
        set_script_prefix("/one/")
        request_started.send(sender=None)
        assert link("objectives:key_result", 5) == "/one/objectives/key-results/5/"
        calls: list[int] = []
        real = links.get_script_prefix

        def counting() -> str:
            calls.append(1)
            return real()

        with monkeypatch.context() as patched:
            patched.setattr(links, "get_script_prefix", counting)
            assert link("dependencies:detail", 6) == "/one/dependencies/6/"
        assert calls == []  # read once, at the first link of the request
        request_finished.send(sender=None)
        set_script_prefix("/two/")
        request_started.send(sender=None)
        assert link("objectives:key_result", 5) == "/two/objectives/key-results/5/"
        request_finished.send(sender=None)
    finally:
        set_script_prefix("/")
    assert link("objectives:key_result", 5) == "/objectives/key-results/5/"
