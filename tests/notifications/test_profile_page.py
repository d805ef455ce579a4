"""The notification-preferences block on /profile/ and the web-push wiring, over HTTP: what the
member sees, what a save changes, the one VAPID key, and the subscription POST with CSRF."""

from __future__ import annotations

import base64
import json
import os
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from notifications.models import NotificationPreference, PushSubscription


@pytest.fixture
def page_client(client_for, org, member):
    client = client_for(org)
    client.force_login(member)
    return client


def prefs_post(client, **fields):
    data = {"form": "notifications", "notif-channel": "sms", "notif-reminders_enabled": "on",
            "notif-sms_enabled": "on"}
    data.update({f"notif-{k}": v for k, v in fields.items()})
    return client.post("/profile/", {k: v for k, v in data.items() if v is not None})


def test_profile_shows_the_members_current_choices(page_client, member, vapid):
    NotificationPreference.objects.create(user=member, channel="whatsapp", has_whatsapp=True, reminders_enabled=False)
    html = page_client.get("/profile/").content.decode()
    assert "data-notification-preferences" in html
    assert re.search(r'<option value="whatsapp" selected>', html)
    assert re.search(r'name="notif-has_whatsapp"[^>]*checked', html)
    assert re.search(r'name="notif-sms_enabled"[^>]*checked', html)
    assert not re.search(r'name="notif-reminders_enabled"[^>]*checked', html)
    assert "Login codes still come by SMS" in html  # what switching SMS off means
    assert "reply STOP" not in html  # the web engineer's placeholder is gone


def test_member_switches_sms_and_reminders_off_then_sms_back_on(page_client, member, vapid):
    response = prefs_post(page_client, sms_enabled=None, reminders_enabled=None)
    assert response.status_code == 302 and response["Location"] == "/profile/"
    prefs = NotificationPreference.objects.get(user=member)
    assert prefs.sms_opted_out and not prefs.reminders_enabled and prefs.opt_out_reason == "member choice"
    html = page_client.get("/profile/").content.decode()
    assert "data-sms-off" in html and "Your notification choices are saved." in html

    prefs_post(page_client)
    prefs.refresh_from_db()
    assert not prefs.sms_opted_out and prefs.reminders_enabled
    assert "data-sms-off" not in page_client.get("/profile/").content.decode()


def test_whatsapp_needs_the_member_to_say_they_use_it(page_client, member, vapid):
    response = prefs_post(page_client, channel="whatsapp")
    assert response.status_code == 200
    assert "Tick this box to get your messages on WhatsApp." in response.content.decode()
    assert not NotificationPreference.objects.filter(user=member, channel="whatsapp").exists()

    assert prefs_post(page_client, channel="whatsapp", has_whatsapp="on").status_code == 302
    prefs = NotificationPreference.objects.get(user=member)
    assert prefs.channel == "whatsapp" and prefs.has_whatsapp


def test_unknown_channel_is_refused(page_client, member, vapid):
    response = prefs_post(page_client, channel="pigeon")
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not NotificationPreference.objects.filter(user=member).exists()


def test_a_network_opt_out_is_explained_and_can_be_undone(page_client, member, vapid):
    from notifications.services import preference_opt_out

    preference_opt_out(user_id=member.pk, reason="UserInBlackList")
    html = page_client.get("/profile/").content.decode()
    assert "UserInBlackList" in html and "your mobile network told us" in html
    prefs_post(page_client)
    assert not NotificationPreference.objects.get(user=member).sms_opted_out


def test_the_profile_form_still_saves_name_beside_the_block(page_client, member, vapid):
    response = page_client.post("/profile/", {"name": "Wanjiku K.", "language": "sw"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.name == "Wanjiku K." and member.language == "sw"
    assert not NotificationPreference.objects.filter(user=member).exists()  # the other form is untouched


def test_profile_offers_push_with_notifications_vapid_key(page_client, vapid, settings):
    from notifications.push import vapid_public_key

    key = vapid_public_key()
    html = page_client.get("/profile/").content.decode()
    assert f'data-vapid-key="{key}"' in html and 'data-endpoint="/api/v1/push-subscriptions"' in html
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65 and raw[0] == 4  # an uncompressed P-256 point: what PushManager.subscribe takes

    # A configured key (production) is the one both the page and the API give the browser.
    from notifications.push import vapid_keys

    settings.WEBPUSH_VAPID_PRIVATE_KEY, settings.WEBPUSH_VAPID_PUBLIC_KEY = "private", "BConfiguredKey"
    vapid_keys.cache_clear()
    assert 'data-vapid-key="BConfiguredKey"' in page_client.get("/profile/").content.decode()
    assert page_client.get("/api/v1/push-subscriptions").json()["public_key"] == "BConfiguredKey"


def test_the_service_worker_subscription_post_needs_csrf(client_for, org, member, vapid, public_dns):
    """What static/js/app.js does: POST PushSubscription.toJSON() with the session cookie and the
    page's csrf-token meta as X-CSRFToken."""
    client = client_for(org, enforce_csrf_checks=True)
    client.force_login(member)
    html = client.get("/profile/").content.decode()
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    body = json.dumps({"endpoint": "https://push.example.test/abc", "expirationTime": None,
                       "keys": {"p256dh": base64.urlsafe_b64encode(key).rstrip(b"=").decode(),
                                "auth": base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()}})

    refused = client.post("/api/v1/push-subscriptions", body, content_type="application/json")
    assert refused.status_code == 403 and not PushSubscription.objects.exists()

    accepted = client.post("/api/v1/push-subscriptions", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201
    assert PushSubscription.objects.get().user_id == member.pk
    assert "Notifications are on for 1 device." in client.get("/profile/").content.decode()
