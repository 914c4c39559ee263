"""The key-result panel branches on each check's code, never on the words of its reason
(a reason may contain anything: it names the owner)."""

from __future__ import annotations

from typing import Any

import pytest

from ownership import services
from ownership.accountability import Code, accountability

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def test_an_owner_whose_name_reads_like_a_refusal_is_still_asked_to_accept(
    client_for: Any, key_result: Any, owner: Any
) -> None:
    # Without a first or last name the username stands for the person.
    owner.first_name, owner.last_name, owner.username = "", "", "declined"
    owner.save()
    check = accountability(key_result).checks[0]
    assert check.code == Code.NOT_ACCEPTED
    assert check.reason == "declined has not accepted ownership yet."

    page = client_for(owner).get(key_result.get_absolute_url()).content.decode()

    assert "Accept ownership" in page


def test_an_owner_who_declined_is_not_asked_again(
    client_for: Any, key_result: Any, owner: Any
) -> None:
    services.ownership_decline(key_result=key_result, user=owner, reason="Too much on my plate")
    assert accountability(key_result).checks[0].code == Code.DECLINED

    page = client_for(owner).get(key_result.get_absolute_url()).content.decode()

    assert "Accept ownership" not in page


def test_the_owner_may_declare_no_dependencies_only_while_none_are_named(
    client_for: Any, key_result: Any, owner: Any
) -> None:
    offer = "This key result needs no other team"
    check = accountability(key_result).checks[2]
    assert check.code == Code.NO_DEPENDENCIES_NAMED
    assert offer in client_for(owner).get(key_result.get_absolute_url()).content.decode()

    services.dependencies_declare_none(key_result=key_result, user=owner)

    assert accountability(key_result).checks[2].code == Code.NONE_NEEDED
    page = client_for(owner).get(key_result.get_absolute_url()).content.decode()
    assert offer not in page
    assert "You declared that no other team is needed." in page
