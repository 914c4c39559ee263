"""A channel message and its two renderings: Slack's Block Kit and a Teams Adaptive Card.

One ``Message`` (a title, lines, a link to the item, optional facts) is built from the same
text as the e-mail or notification it goes with (``from_notice``), and rendered for the
channel's provider when it is queued. Links are absolute (SITE_URL): a chat client has no
page to resolve a path against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

# Slack refuses a header over 150 characters and a section's text over 3,000; a Teams card
# has no hard limit, but the same cut keeps both readable.
TITLE_MAX = 150
TEXT_MAX = 2900


def absolute(path: str) -> str:
    return path if path.startswith(("http://", "https://")) else f"{settings.SITE_URL}{path}"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_escape(text: str) -> str:
    # mrkdwn reads &, < and > as markup (links, mentions): escaped, a person's text stays text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class Message:
    title: str
    lines: list[str] = field(default_factory=list)
    link: str = ""  # a path or an absolute URL: the item the message is about
    link_label: str = "Open in OKRly"
    facts: list[tuple[str, str]] = field(default_factory=list)
    # More links under the lines (a digest's items): (label, path) pairs.
    items: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def from_notice(cls, *, subject: str, body: str, link: str) -> Message:
        """The message of a notification (the ladder's rung, an escalation): its subject is
        the title and its body's lines the lines, so chat and e-mail say the same."""
        return cls(title=subject, lines=[line for line in body.splitlines() if line], link=link)

    def text(self) -> str:
        """Plain text: Slack's notification preview and Teams' fallback."""
        return _cut(self.title, TITLE_MAX)

    def to_slack(self) -> dict[str, Any]:
        blocks: list[dict[str, Any]] = [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": _cut(self.title, TITLE_MAX)},
            }
        ]
        if self.lines:
            body = _slack_escape("\n".join(self.lines))
            blocks.append(
                {"type": "section", "text": {"type": "mrkdwn", "text": _cut(body, TEXT_MAX)}}
            )
        if self.facts:
            blocks.append(
                {
                    "type": "section",
                    "fields": [
                        {"type": "mrkdwn", "text": f"*{_slack_escape(k)}*\n{_slack_escape(v)}"}
                        for k, v in self.facts[:10]  # Slack's limit of fields per section
                    ],
                }
            )
        if self.items:
            listed = "\n".join(
                f"• <{absolute(path)}|{_slack_escape(label).replace('|', '¦')}>"
                for label, path in self.items
            )
            blocks.append(
                {"type": "section", "text": {"type": "mrkdwn", "text": _cut(listed, TEXT_MAX)}}
            )
        if self.link:
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": self.link_label},
                            "url": absolute(self.link),
                        }
                    ],
                }
            )
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "OKRly"}]})
        return {"text": self.text(), "blocks": blocks}

    def to_teams(self) -> dict[str, Any]:
        """A Teams workflow ("Post to a channel when a webhook request is received") takes a
        message whose attachment is an Adaptive Card."""
        body: list[dict[str, Any]] = [
            {
                "type": "TextBlock",
                "text": _cut(self.title, TITLE_MAX),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            }
        ]
        body += [
            {"type": "TextBlock", "text": _cut(line, TEXT_MAX), "wrap": True} for line in self.lines
        ]
        if self.facts:
            body.append(
                {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in self.facts]}
            )
        body += [
            {"type": "TextBlock", "text": f"[{label}]({absolute(path)})", "wrap": True}
            for label, path in self.items
        ]
        card: dict[str, Any] = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "fallbackText": self.text(),
            "body": body,
        }
        if self.link:
            card["actions"] = [
                {"type": "Action.OpenUrl", "title": self.link_label, "url": absolute(self.link)}
            ]
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": card,
                }
            ],
        }

    def payload(self, provider: str) -> dict[str, Any]:
        return self.to_slack() if provider == "slack" else self.to_teams()
