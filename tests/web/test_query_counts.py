"""Exact query counts of the endpoints a member or a leader loads most (issue 13), pinned as
tests/challenges/test_query_counts.py pins the game's: measured warm (the third request of the same
client: per-process and Redis caches filled, as in the steady state), SAVEPOINTs of a test's
transaction aside. django-tenants' `SET search_path` is not repeated on a connection that already has
it (savegame/db/base.py); pages count the session and its user; the API's user comes from
accounts' user cache. A change that adds a query fails
here; a change that saves one updates the number (and docs/BENCHMARKS.md).

Before issue 13 (same data): challenges 5, leaderboard 2, progress 5, achievements 7, transactions 4,
member home 8, leader overview 29 (27 at the issue's measurement); 11 until analytics stopped
re-deriving challenge outcomes from the ledger (issue 15 item 3)."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

QUERIES = {
    "/api/v1/challenges": 0,  # user, list and the member's joined ids: caches; the search_path is kept
    "/api/v1/challenges/{challenge}/leaderboard": 0,  # user cached, status in-process, the board in Redis
    "/api/v1/members/{member}/progress": 1,  # participations (user and points: caches)
    "/api/v1/members/{member}/achievements": 0,  # the game's cache (badges earned, catalogue, history: 3 cold)
    "/api/v1/transactions": 2,  # count, page
    # the member's ledger rows, active challenges, the weekly streak's metrics row, personal goals
    # (session, user, Paybill, points: caches)
    "/": 4,
    # analytics.selectors.manage_overview: rollup state, members, live ledger rows, the live savers'
    # summaries, participations (the game's outcomes), this week's savers (session and user: caches);
    # the set-up checklist while it is not done (issue 16 item 21): a challenge published, a payment received
    "/manage/": 8,
    # the remaining list endpoints (issue 15 item 9), a member's ...
    "/api/v1/challenges/{challenge}/teams": 2,  # the challenge, its teams
    "/api/v1/badges": 1,  # the organization's badges (the system catalogue: in-process cache)
    "/api/v1/goals": 1,  # the member's goals with their participations
    "/api/v1/streak-freezes": 2,  # the member's goal names, their freeze rows
    "/api/v1/notifications": 2,  # count, page
    # ... and a leader's (the API with a leader's token)
    "leader:/api/v1/members": 2,  # count, page
    "leader:/api/v1/audit": 2,  # count, page
    "leader:/api/v1/manual-deposits": 1,  # the pending cash deposits with their members
    "leader:/api/v1/notification-templates": 2,  # the organization's templates, its SMS settings
}


def _statements(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))]


@pytest.fixture
def world(daytime, tenant, org_admin, django_capture_on_commit_callbacks):
    """Five members in a running weekly challenge, three scored deposits each (today, a week and two
    weeks back), the days before today rolled up as the nightly job does. On a Wednesday (`daytime`):
    this week has rolled-up days and a live one, so the overview's week-spanning read is counted."""
    from accounts.services import user_create
    from challenges.services import challenge_create, deposits_score, participant_join
    from payments.models import Transaction

    members = [user_create(phone_number=f"+2547123400{i:02d}", name=f"Saver {i}") for i in range(5)]
    challenge = challenge_create(actor=org_admin, name="Weekly 500", type="fixed_amount",
                                 target={"amount": "500", "frequency": "weekly"}, duration_days=28,
                                 start_date=date.today() - timedelta(days=14), status="draft")
    challenge.status = "active"
    challenge.save(update_fields=["status"])
    for m in members:
        participant_join(challenge=challenge, user=m)
    now = timezone.now()
    rows = []
    for n, m in enumerate(members * 3):
        when = now - timedelta(days=7 * (n % 3))
        rows.append(Transaction.objects.create(
            user=m, amount=Decimal("100"), status="verified", source="c2b", challenge=challenge,
            transaction_id=f"QW{n:08d}", mpesa_receipt=f"QW{n:08d}", transacted_at=when, verified_at=when))
    with django_capture_on_commit_callbacks(execute=True):
        deposits_score(transaction_ids=[t.pk for t in rows])
    call_command("analytics_backfill", "--org", tenant.slug, stdout=io.StringIO())
    connection.set_tenant(tenant)
    return members, challenge


def _warm_count(client, path) -> list[str]:
    for _ in range(2):
        assert client.get(path).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, path
    return _statements(queries)


@pytest.fixture
def clients(world, api_client_for, client_for, org, org_admin):
    from accounts.authentication import tokens_for_user

    members, challenge = world
    member = members[0]
    api = api_client_for(org)
    api.credentials(HTTP_AUTHORIZATION="Bearer " + tokens_for_user(member)["access"])
    leader_api = api_client_for(org)
    leader_api.credentials(HTTP_AUTHORIZATION="Bearer " + tokens_for_user(org_admin)["access"])
    page = client_for(org)
    page.force_login(member)
    leader = client_for(org)
    leader.force_login(org_admin)
    return {"api": api, "leader_api": leader_api, "page": page, "leader": leader, "member": member,
            "challenge": challenge}


def _client_and_path(pattern: str, clients: dict):
    path = pattern.removeprefix("leader:").format(challenge=clients["challenge"].pk, member=clients["member"].pk)
    if pattern.startswith("leader:"):
        return clients["leader_api"], path
    if path.startswith("/api/"):
        return clients["api"], path
    return clients["leader" if path == "/manage/" else "page"], path


@pytest.mark.parametrize("pattern", list(QUERIES))
def test_endpoint_query_count_is_pinned(pattern, clients):
    client, path = _client_and_path(pattern, clients)
    statements = _warm_count(client, path)
    assert len(statements) == QUERIES[pattern], [s[:140] for s in statements]


def test_a_busier_organization_costs_the_same_queries(clients, django_capture_on_commit_callbacks):
    """Ten more members and deposits change no count: nothing here runs a query per row."""
    from accounts.services import user_create
    from challenges.services import deposits_score, participant_join
    from payments.models import Transaction

    challenge = clients["challenge"]
    now = timezone.now()
    rows = []
    for i in range(10):
        m = user_create(phone_number=f"+2547123499{i:02d}", name=f"Extra {i}")
        participant_join(challenge=challenge, user=m)
        rows.append(Transaction.objects.create(
            user=m, amount=Decimal("50"), status="verified", source="c2b", challenge=challenge,
            transaction_id=f"QX{i:08d}", mpesa_receipt=f"QX{i:08d}", transacted_at=now, verified_at=now))
    for k in range(4):  # the member's own ledger grows too
        rows.append(Transaction.objects.create(
            user=clients["member"], amount=Decimal("20"), status="verified", source="c2b", challenge=challenge,
            transaction_id=f"QY{k:08d}", mpesa_receipt=f"QY{k:08d}", transacted_at=now, verified_at=now))
    with django_capture_on_commit_callbacks(execute=True):
        deposits_score(transaction_ids=[t.pk for t in rows])
    for pattern, expected in QUERIES.items():
        client, path = _client_and_path(pattern, clients)
        assert len(_warm_count(client, path)) == expected, path
