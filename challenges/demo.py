"""Live demo challenges for the demo organizations, with a few weeks of verified demo deposits.

Idempotent: challenges are found by name, deposits by their receipt number, and scoring a deposit
twice changes nothing. Called by `seed_demo` inside the organization's schema.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import connection

DEMO_CHALLENGES = [
    {"name": "Weekly 500", "type": "fixed_amount", "target": {"amount": 500, "frequency": "weekly"},
     "duration_days": 56, "starts_days_ago": 15,
     "description": "Save at least KES 500 every week for eight weeks."},
    {"name": "4-week streak", "type": "streak", "target": {"consecutive_weeks": 4, "min_amount": 100},
     "duration_days": 42, "starts_days_ago": 15, "description": "Save KES 100 or more in four weeks in a row."},
    {"name": "Save 20% more", "type": "percentage", "target": {"increase": 20, "baseline": "last_month",
                                                               "min_amount": 2000},
     "duration_days": 30, "starts_days_ago": 10, "description": "Beat last month's savings by 20%."},
    {"name": "Team goal 20k", "type": "group", "target": {"team_amount": 20000, "min_members": 3},
     "duration_days": 45, "starts_days_ago": 12, "description": "Teams of three or more save KES 20,000 together."},
]
TEAM_NAMES = ["Simba", "Chui", "Tembo"]


def seed(organization, members) -> None:
    from accounts.models import User
    from challenges.models import Challenge, Team
    from challenges.services import (
        SCORING_BATCH,
        challenge_create,
        deposits_score,
        local_today,
        organization_zone,
        participant_join,
        team_create,
        team_join,
    )
    from payments.models import Transaction

    connection.set_tenant(organization)
    zone = organization_zone(organization)
    today = local_today(zone)
    admin = User.objects.filter(role="org_admin").order_by("pk").first()
    rng = random.Random(organization.slug)
    challenges = []
    for spec in DEMO_CHALLENGES:
        challenge = Challenge.objects.filter(name=spec["name"]).first()
        if challenge is None:
            challenge = challenge_create(
                actor=admin, name=spec["name"], description=spec["description"], type=spec["type"],
                target=spec["target"], duration_days=spec["duration_days"],
                start_date=today - timedelta(days=spec["starts_days_ago"]), status="active")
        challenges.append(challenge)
        if challenge.status != "active":
            continue
        for member in members:
            participant_join(challenge=challenge, user=member)
        if challenge.type == "group" and not Team.objects.filter(challenge=challenge).exists():
            for index, member in enumerate(members):
                name = TEAM_NAMES[index % 2]
                team = Team.objects.filter(challenge=challenge, name=name).first()
                if team is None:
                    team_create(challenge=challenge, user=member, name=name)
                else:
                    team_join(team=team, user=member)
    # Verified demo deposits (as payments would record them), scored through the seam.
    prefix = f"DM{organization.slug[:4].upper()}"
    number = 0
    verified = []
    for offset in range(16, 0, -1):
        day = today - timedelta(days=offset)
        for member in members:
            if rng.random() < 0.55:
                continue
            number += 1
            receipt = f"{prefix}{number:05d}"
            when = datetime.combine(day, time(rng.randint(7, 20), rng.randint(0, 59)), tzinfo=zone)
            tx, _ = Transaction.objects.get_or_create(
                transaction_id=receipt,
                defaults={"user": member, "amount": Decimal(rng.choice([100, 200, 250, 300, 500, 750, 1000])),
                          "status": Transaction.Status.VERIFIED, "source": Transaction.Source.MANUAL,
                          "mpesa_receipt": receipt, "transacted_at": when, "verified_at": when,
                          "phone_number": member.phone_number, "bill_ref_number": member.account_code},
            )
            if tx.status == Transaction.Status.VERIFIED:
                verified.append(tx.pk)
    for start in range(0, len(verified), SCORING_BATCH):
        deposits_score(transaction_ids=verified[start:start + SCORING_BATCH])
