"""Exact query counts per endpoint a member or leader loads most (issue 13): measured warm."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone


def _statements(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))]


@pytest.fixture
def world(tenant, org_admin):
    from accounts.services import user_create
    from challenges.services import challenge_create, participant_join
    from payments.models import Transaction

    members = [user_create(phone_number=f"+2547123400{i:02d}", name=f"Saver {i}") for i in range(5)]
    challenge = challenge_create(actor=org_admin, name="Weekly 500", type="fixed_amount",
                                 target={"amount": "500", "frequency": "weekly"}, duration_days=28,
                                 start_date=date.today() - timedelta(days=3), status="draft")
    challenge.status = "active"
    challenge.save(update_fields=["status"])
    for m in members:
        participant_join(challenge=challenge, user=m)
    now = timezone.now()
    for n, m in enumerate(members * 3):
        Transaction.objects.create(user=m, amount=Decimal("100"), status="verified", source="c2b",
                                   challenge=challenge, transaction_id=f"QW{n:08d}", transacted_at=now,
                                   verified_at=now)
    return members, challenge


def _measure(client, path, **extra):
    for _ in range(2):
        assert client.get(path, **extra).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **extra)
    assert response.status_code == 200
    return _statements(queries)


def test_print(world, api_client_for, client_for, org, org_admin):
    from accounts.authentication import tokens_for_user
    members, challenge = world
    member = members[0]
    api = api_client_for(org)
    api.credentials(HTTP_AUTHORIZATION="Bearer " + tokens_for_user(member)["access"])
    paths = ["/api/v1/challenges", f"/api/v1/challenges/{challenge.pk}/leaderboard",
             f"/api/v1/members/{member.pk}/progress", f"/api/v1/members/{member.pk}/achievements",
             "/api/v1/transactions"]
    for p in paths:
        qs = _measure(api, p)
        print("\n###", p, len(qs))
        for q in qs:
            print("   ", q[:200])
    page = client_for(org)
    page.force_login(member)
    qs = _measure(page, "/")
    print("\n### /", len(qs))
    for q in qs:
        print("   ", q[:200])
    lead = client_for(org)
    lead.force_login(org_admin)
    qs = _measure(lead, "/manage/")
    print("\n### /manage/", len(qs))
    for q in qs:
        print("   ", q[:300])
