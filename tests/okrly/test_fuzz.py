"""The API under schemathesis: generated requests for every operation in the OpenAPI schema,
in-process (WSGI), signed in with a token, against a small organisation. Not one answer may
be a server error, and every answer must match the schema (status code, content type, body).

The example count is bounded (FUZZ_EXAMPLES, default 30 per operation) so that the test
stays under a minute on SQLite; ``make fuzz`` runs the CLI against a live server for longer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from checkins import services as checkin_services
from dependencies import services as dependency_services
from reviews import responses
from reviews.early_escalations import escalation_raise
from reviews.models import MissResponse

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def _no_throttling(settings: Any) -> None:
    # The rates, not the classes: DRF binds the throttle classes to the views when they are
    # imported, while okrly/throttling.py reads the rates on every request.
    rates = {"user": "1000000/min", "anon": "1000000/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


@pytest.fixture
def _keep_connection() -> Iterator[None]:
    """The WSGI handler closes the database connection after each request, which would close
    the test's transaction; Django's own test client unhooks the same signal."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(
    owner: Any, key_result: Any, platform: Any, provider: Any, lead: Any, leader: Any
) -> str:
    """Ids 1, 2, … name real rows, so generated ids sometimes hit them; the owner's token."""
    dependency_services.dependency_request(
        user=owner,
        key_result=key_result,
        provider_team=platform,
        responsible=provider,
        deliverable="Billing API v2",
        due_date=date(2026, 12, 1),
    )
    checkin_services.checkin_submit(
        user=owner,
        key_result=key_result,
        status="at_risk",
        confidence=6,
        biggest_risk="Pricing page slips",
        value=Decimal("14"),
    )
    # Rule 10: a response the owner may record (PATCH /api/responses/1/).
    responses.response_open(
        kind=MissResponse.Kind.KEY_RESULT_MISSED,
        key_result=key_result,
        quarter=key_result.objective.quarter,
    )
    # Rule 7: an early escalation asked of the owner (POST .../answer/ and .../redirect/).
    escalation_raise(
        user=lead,
        key_result=key_result,
        need="Decide on the pricing page",
        asked_of=owner,
        needed_by=date(2026, 12, 11),
    )
    return Token.objects.create(user=owner).key


def fuzz(operation: Any, headers: dict[str, str], failures: list[str]) -> None:
    """Call one operation with generated cases; record each failed check (no shrinking:
    the first example of each kind is enough to find the fix)."""

    # Valid requests and invalid ones (wrong types, missing fields, out-of-range values).
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as error:
            text = f"{operation.label}: {str(error)[:3000]}"
            # The same failure found again by another example says nothing new.
            kind = text.split("Reproduce with")[0][:400]
            if not any(f.startswith(kind) for f in failures):
                failures.append(text)

    run()


# Inside the seeded quarter (2026 Q4) whatever today is; throttling off (hundreds of calls).
@pytest.mark.usefixtures("frozen_now", "_no_throttling", "_keep_connection")
@pytest.mark.django_db
def test_the_api_answers_every_generated_request_without_server_error_or_schema_violation(
    seeded: str,
) -> None:
    app = get_wsgi_application()
    headers = {"Authorization": f"Token {seeded}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app, headers=headers)
    failures: list[str] = []
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) > 20  # and each operation's schema is valid

    for operation in operations:
        fuzz(operation, headers, failures)

    assert not failures, "\n\n".join(failures)


@pytest.mark.django_db
def test_every_operation_documents_its_refusals(client_for: Any, outsider: Any) -> None:
    schema = client_for(outsider).get("/api/schema/", {"format": "json"}).json()
    operations = [op for ops in schema["paths"].values() for op in ops.values()]
    assert operations
    for operation in operations:
        for code in ("400", "401", "403", "404"):
            content = operation["responses"][code]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/Error"}
    assert schema["components"]["schemas"]["Error"]["oneOf"]
