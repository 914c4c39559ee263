"""The prompt e-mail's signed links: one per key result and week, valid for 7 days, opening
that week's check-in card (after sign-in if needed).

The token carries only the key result and the week, signed (``django.core.signing``, its own
salt): it grants nothing by itself. Who may check in is still decided by the card, for the
signed-in person; the link only says where to go, and a tampered or stale one is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core import signing
from django.urls import reverse

SALT = "okrly.checkins.prompt-link"
LINK_MAX_AGE = timedelta(days=7)


class LinkRefused(Exception):
    """A link that opens nothing: its message says why, for the person who clicked it."""


@dataclass(frozen=True)
class CheckInLink:
    key_result_id: int
    week: int


def card_path(key_result_id: int) -> str:
    """This week's card on My week (its id in checkins/cards.py): the form itself."""
    return f"{reverse('home')}#checkin-{key_result_id}"


def signed_path(key_result_id: int, week: int) -> str:
    token = signing.dumps([key_result_id, week], salt=SALT)
    return reverse("checkins:open", args=[token])


def read(token: str) -> CheckInLink:
    try:
        value = signing.loads(token, salt=SALT, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise LinkRefused(
            f"This check-in link has expired: links in the prompt e-mail last "
            f"{LINK_MAX_AGE.days} days. My week shows what is still open."
        ) from exc
    except signing.BadSignature as exc:
        raise LinkRefused(
            "This check-in link is not valid (it may have been cut short or changed). "
            "My week shows what is open for you."
        ) from exc
    # Signed by us, so well-formed; checked anyway rather than trusted to a 500.
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise LinkRefused("This check-in link is not valid. My week shows what is open for you.")
    return CheckInLink(key_result_id=value[0], week=value[1])
