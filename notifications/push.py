"""Web push (RFC 8030 + VAPID) through pywebpush.

VAPID keys come from WEBPUSH_VAPID_PRIVATE_KEY / WEBPUSH_VAPID_PUBLIC_KEY; without them (dev) a key
pair is generated once and kept under the data folder, so subscriptions survive restarts.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from py_vapid import Vapid02, b64urlencode
from pywebpush import WebPushException, webpush

from notifications.africastalking import PermanentProviderError, TransientProviderError


@lru_cache(maxsize=1)
def vapid_keys() -> tuple[str, str]:
    """(private key PEM or base64url raw, public key base64url for the browser)."""
    if settings.WEBPUSH_VAPID_PRIVATE_KEY and settings.WEBPUSH_VAPID_PUBLIC_KEY:
        return settings.WEBPUSH_VAPID_PRIVATE_KEY, settings.WEBPUSH_VAPID_PUBLIC_KEY
    path = Path(settings.WEBPUSH_DEV_KEY_PATH)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        vapid = Vapid02()
        vapid.generate_keys()
        path.write_bytes(vapid.private_pem())
    vapid = Vapid02.from_pem(path.read_bytes())
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return path.read_text(), b64urlencode(raw)


def vapid_public_key() -> str:
    return vapid_keys()[1]


def push_send(*, subscription, title: str, body: str, url: str = "/") -> str:
    """Send one push. Returns "" on success, "gone" when the subscription has expired (delete it).
    Raises TransientProviderError (network, 5xx, 429) or PermanentProviderError (other 4xx)."""
    from savegame.netguard import UnsafeUrl, public_session, public_url_check

    private_key, _public = vapid_keys()
    try:
        public_url_check(subscription.endpoint)  # again at send time: the name may point elsewhere now
    except UnsafeUrl as exc:
        raise PermanentProviderError(f"push: {exc}") from exc
    try:
        webpush(
            subscription_info={"endpoint": subscription.endpoint,
                               "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}},
            data=json.dumps({"title": title, "body": body, "url": url}),
            vapid_private_key=Vapid02.from_pem(private_key.encode()) if private_key.startswith("-----") else private_key,
            vapid_claims={"sub": settings.WEBPUSH_VAPID_SUBJECT},
            ttl=24 * 3600,
            timeout=settings.WEBPUSH_TIMEOUT_SECONDS,
            requests_session=public_session(subscription.endpoint),  # public peers only, no redirects
        )
    except WebPushException as exc:
        status = getattr(exc.response, "status_code", None)
        if status in (404, 410):
            return "gone"
        if status is None or status >= 500 or status == 429:
            raise TransientProviderError(f"push: {exc}") from exc
        raise PermanentProviderError(f"push: {exc}") from exc
    except Exception as exc:  # requests' connection errors
        raise TransientProviderError(f"push: {type(exc).__name__}: {exc}") from exc
    return ""
