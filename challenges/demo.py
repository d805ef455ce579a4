"""Live demo challenges for the demo organizations, joined by every demo member (payments/demo.py
then adds a few weeks of verified deposits, scored through the hand-over).

Idempotent: challenges are found by name. Called by `seed_demo` inside the organization's schema.
"""

from __future__ import annotations

from datetime import timedelta

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
    from challenges.services import challenge_create, participant_join, team_create, team_join
    from tenants.calendar import local_today, organization_zone

    connection.set_tenant(organization)
    zone = organization_zone(organization)
    today = local_today(zone)
    admin = User.objects.filter(role="org_admin").order_by("pk").first()
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
