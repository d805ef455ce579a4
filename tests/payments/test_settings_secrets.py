"""M-Pesa secrets: unreadable in the database, never shown in full, surviving key rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from payments.models import MpesaSettings


def _reset_field_keys():
    for name in MpesaSettings.SECRET_FIELDS:
        field = MpesaSettings._meta.get_field(name)
        for attr in ("keys", "fernet_keys", "fernet"):
            field.__dict__.pop(attr, None)


@pytest.fixture
def keys(settings):
    from fernet_fields.hkdf import derive_fernet_key

    # The row already holds values under the suite's configured key(s); keep them decryptable.
    field = MpesaSettings._meta.get_field("passkey")
    current = [k.decode() if isinstance(k, bytes) else k for k in field.fernet_keys]
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FERNET_KEYS, settings.FERNET_USE_HKDF = [old, *current], False
    assert derive_fernet_key  # noqa: the suite may run with HKDF-derived keys (no FIELD_ENCRYPTION_KEYS)
    _reset_field_keys()
    yield settings, old, new
    _reset_field_keys()


def _raw(column: str) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM payments_mpesasettings")
        return bytes(cursor.fetchone()[0])


def test_secrets_are_encrypted_at_rest_and_survive_rotation(tenant, keys):
    from payments.services import mpesa_secrets_reencrypt, mpesa_settings_update

    settings, old, new = keys
    mpesa_settings_update(data={"consumer_secret": "S3cr3t-consumer", "passkey": "pk-123456789"})
    raw = _raw("consumer_secret")
    assert b"S3cr3t" not in raw and raw.startswith(b"gAAAA")  # a Fernet token
    assert Fernet(old.encode()).decrypt(raw) == b"S3cr3t-consumer"

    settings.FERNET_KEYS = [new, *settings.FERNET_KEYS]  # rotation: newest first, old still decrypts
    _reset_field_keys()
    assert MpesaSettings.objects.get().consumer_secret == "S3cr3t-consumer"
    assert mpesa_secrets_reencrypt() == 1
    assert Fernet(new.encode()).decrypt(_raw("consumer_secret")) == b"S3cr3t-consumer"

    settings.FERNET_KEYS = [new]  # the old key retired
    _reset_field_keys()
    row = MpesaSettings.objects.get()
    assert (row.consumer_secret, row.passkey) == ("S3cr3t-consumer", "pk-123456789")


def test_blank_secret_keeps_the_stored_one(tenant):
    from payments.services import mpesa_settings_update

    mpesa_settings_update(data={"passkey": "keep-me-please"})
    mpesa_settings_update(data={"passkey": "", "shortcode": "600123"})
    row = MpesaSettings.objects.get()
    assert (row.passkey, row.shortcode) == ("keep-me-please", "600123")


def test_settings_api_masks_secrets(api_client_for, org, org_admin):
    api = api_client_for(org)
    api.force_authenticate(org_admin)
    response = api.patch("/api/v1/payments/settings", {"consumer_secret": "very-secret-value-123"}, format="json")
    assert response.status_code == 200, response.content
    assert "very-secret-value-123" not in response.content.decode()
    assert response.json()["consumer_secret"].endswith("123") and response.json()["consumer_secret"].startswith("•")
    assert set(response.json()["callback_urls"]) == {"validation", "confirmation", "stk_callback", "result", "timeout"}
