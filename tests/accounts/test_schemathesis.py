"""Property-based run of the OpenAPI schema against the live app (real server, real sockets).

schemathesis reads /api/v1/schema/ from a running server and throws generated requests (valid and
invalid) at the auth and members endpoints, as an org admin and anonymously. No answer may be a 5xx,
and every answer must match the documented status codes, content type and shape.
"""

from __future__ import annotations

import pytest
import schemathesis
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from accounts.authentication import tokens_for_user
from accounts.models import User

OPERATIONS = ("/api/v1/auth/", "/api/v1/members")
# Every list endpoint's documented query parameters (issue 14 item 5): GET only, junk included.
LIST_OPERATIONS = ("/api/v1/transactions", "/api/v1/challenges", "/api/v1/audit")


@pytest.fixture
def fuzz_target(committed_org, settings, django_db_blocker):
    # Generated traffic would otherwise spend the real limits in seconds; the limits have their own tests.
    settings.API_RATE_PER_IP = settings.API_RATE_PER_ORG = "1000000/min"
    settings.OTP_SEND_RATE_PER_IP = "1000000/min"
    with django_db_blocker.unblock(), schema_context(committed_org.schema_name):
        admin = User.objects.get(role=User.Role.ORG_ADMIN)
        access = tokens_for_user(admin)["access"]
    return committed_org, access


@pytest.mark.slow
@pytest.mark.parametrize("as_admin", [True, False], ids=["org_admin", "anonymous"])
def test_auth_and_members_endpoints_never_5xx(fuzz_target, live_server_url, as_admin):
    organization, access = fuzz_target
    base_url = f"http://127.0.0.1:{live_server_url}"
    host = {"Host": f"{organization.slug}.localhost"}
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/schema/", headers=host, timeout=30)
    headers = {**host, **({"Authorization": f"Bearer {access}"} if as_admin else {})}

    operations = [
        result.ok() for result in schema.get_all_operations()
        if result.ok().path.startswith(OPERATIONS)
        or (result.ok().method.upper() == "GET" and result.ok().path in LIST_OPERATIONS)
    ]
    assert {op.path for op in operations} >= {"/api/v1/auth/send-otp", "/api/v1/auth/verify-otp",
                                              "/api/v1/auth/refresh", "/api/v1/members", "/api/v1/members/{id}",
                                              "/api/v1/transactions", "/api/v1/challenges", "/api/v1/audit"}
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @hsettings(max_examples=15, deadline=None, database=None, derandomize=True,
                       suppress_health_check=list(HealthCheck))
            def run(case):
                response = case.call(base_url=base_url, headers=headers, timeout=30)
                case.validate_response(response, checks=[not_a_server_error])

            try:
                run()
            except Exception as exc:  # collect them all, then fail with the list
                failures.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: {exc}")
    assert not failures, "\n\n".join(failures)


def test_schema_and_docs_are_served(tenant, org, client_for):
    # (also makes pytest-django create the test database when this module runs alone: committed_org
    # alone does not count as a database test)
    client = client_for(org)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.")
    for path in ("/api/v1/auth/send-otp", "/api/v1/auth/verify-otp", "/api/v1/auth/refresh", "/api/v1/members",
                 "/api/v1/members/{id}", "/api/v1/members/import", "/api/v1/audit"):
        assert path in document["paths"], path
    verify = document["paths"]["/api/v1/auth/verify-otp"]["post"]
    assert {"200", "400", "429"} <= set(verify["responses"])
    assert "jwtAuth" in document["components"]["securitySchemes"]
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content and b"unpkg.com" not in docs.content
