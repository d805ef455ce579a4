"""notifications <- gamification: a broadcast to a challenge's participants reaches exactly them."""

from __future__ import annotations


def test_challenge_broadcast_counts_and_reaches_its_active_participants(api_client_for, org, org_admin,
                                                                       running_challenge, django_capture_on_commit_callbacks,
                                                                       eager_celery):
    from django.db import connection

    from accounts.services import user_create
    from challenges.services import participant_join
    from notifications.models import Notification

    challenge, other = running_challenge(), running_challenge(name="Other")
    members = [user_create(phone_number=f"+2547081100{n:02d}", name=f"M{n}") for n in range(6)]
    for user in members[:4]:
        participant_join(challenge=challenge, user=user)
    participant_join(challenge=other, user=members[4])
    members[3].is_active = False  # left the group: no message
    members[3].save(update_fields=["is_active"])

    api = api_client_for(org)
    api.force_authenticate(org_admin)
    body = {"message": "Final week: keep saving!", "audience": "challenge", "challenge": challenge.pk}
    preview = api.post("/api/v1/broadcasts/preview", body, format="json")
    assert preview.status_code == 200, preview.content
    assert preview.json()["recipients"] == 3
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post("/api/v1/broadcasts", body, format="json")
    connection.set_tenant(org)
    assert sent.status_code == 202, sent.content
    assert sent.json()["recipients"] == 3
    assert set(Notification.objects.filter(template="broadcast").values_list("user_id", flat=True)) == {
        m.pk for m in members[:3]}
