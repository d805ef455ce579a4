"""The client's IP address, trusting X-Forwarded-For only through TRUSTED_PROXY_COUNT proxies.

With N trusted proxies, each appends the address it received from, so the Nth entry from the right
is the client and anything to its left may be forged. With 0, the socket address is the client.
"""

from __future__ import annotations

from django.conf import settings


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < count:
        return forwarded[0] if forwarded else remote
    return forwarded[-count]
