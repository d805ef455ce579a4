"""Junk in any documented query parameter is a 4xx naming it, never a 500 (issue 14, item 5).

Walks every list endpoint and page that reads query parameters, as the user it is for, with junk
in each parameter in turn. The API side is also fuzzed from its OpenAPI schema by
tests/accounts/test_schemathesis.py; this walk covers the pages, which have no schema.
"""

from __future__ import annotations

import pytest
from django.test import Client

JUNK = ["abc", "-1", "99999999999999999999", "9999-12", "2026-02-30", "\x00", "²", "x" * 3000]

# path -> the query parameters it documents (pages and API list endpoints)
ADMIN_GETS = {
    "/api/v1/transactions": ["status", "source", "member", "challenge", "date_from", "date_to", "q", "page"],
    "/api/v1/members": ["search", "role", "page"],
    "/api/v1/audit": ["action", "page"],
    "/api/v1/challenges": ["status", "page"],
    "/api/v1/notifications": ["page"],
    "/api/v1/analytics/overview": ["challenge"],
    "/api/v1/analytics/savings-trends": ["from", "to", "challenge", "granularity"],
    "/api/v1/analytics/engagement": ["from", "to", "challenge"],
    "/manage/transactions/": ["status", "source", "member", "challenge", "date_from", "date_to", "q", "format", "page"],
    "/manage/members/": ["q", "page"],
    "/manage/audit/": ["action", "page"],
    "/manage/analytics/": ["start", "end", "challenge", "granularity"],
    "/manage/analytics/export/savings-trends.csv": ["start", "end", "challenge", "granularity"],
    "/manage/notifications/": ["edit"],
    "/manage/unmatched/": ["page"],
}
MEMBER_GETS = {
    "/transactions/": ["status", "page"],
    "/save/": ["tx"],
    "/statement/": ["month"],
    "/challenges/": ["page"],
    "/login/": ["next", "step", "restart"],
}

# The reproductions from the issue: each is a 400 that names the parameter.
NAMED_400 = [
    ("admin", "/api/v1/transactions", "member", "abc"),
    ("admin", "/api/v1/transactions", "challenge", "abc"),
    ("admin", "/api/v1/transactions", "member", "99999999999999999999"),
    ("admin", "/api/v1/transactions", "date_from", "xyz"),
    ("admin", "/manage/transactions/", "member", "abc"),
    ("admin", "/manage/transactions/", "date_from", "xyz"),
    ("admin", "/manage/transactions/", "q", "\x00"),
    ("member", "/statement/", "month", "9999-12"),
    ("member", "/statement/", "month", "2026-13"),
    ("member", "/save/", "tx", "²"),
]


@pytest.fixture
def clients(tenant, org, org_admin):
    from accounts.factories import UserFactory

    member = UserFactory(phone_number="+254712000222", name="Achieng")
    admin = Client(HTTP_HOST=f"{org.slug}.localhost", raise_request_exception=False)
    admin.force_login(org_admin)
    as_member = Client(HTTP_HOST=f"{org.slug}.localhost", raise_request_exception=False)
    as_member.force_login(member)
    return {"admin": admin, "member": as_member}


def _walk(client, table):
    failures = []
    for path, params in table.items():
        for name in params:
            for junk in JUNK:
                response = client.get(path, {name: junk})
                if response.status_code >= 500:
                    failures.append(f"{path}?{name}={junk[:20]!r}: {response.status_code}")
    return failures


def test_no_page_or_list_endpoint_answers_500_to_junk_in_any_parameter(clients, settings):
    settings.API_RATE_PER_IP = settings.API_RATE_PER_ORG = "1000000/min"
    failures = _walk(clients["admin"], ADMIN_GETS) + _walk(clients["member"], MEMBER_GETS)
    assert failures == []


@pytest.mark.parametrize(("who", "path", "name", "junk"), NAMED_400)
def test_a_bad_parameter_is_a_400_naming_it(clients, who, path, name, junk):
    response = clients[who].get(path, {name: junk})
    assert response.status_code == 400
    assert name in response.content.decode()
