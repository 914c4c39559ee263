"""Fixtures of the core app's tests."""

# The local webhook server standing in for Slack and Teams (issue 16).
from tests.webhooks import webhook  # noqa: F401
