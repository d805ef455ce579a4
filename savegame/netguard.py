"""Outbound HTTP to addresses a user chose (web-push endpoints): public https hosts only.

A member picks the push endpoint, so without this the worker would POST wherever they say:
loopback, the cloud metadata service, the office LAN (blind SSRF). The URL is checked when it is
saved (`public_url_check`), and again at send time by the connection itself (`public_session`):
the socket's peer address must be public, so a name that resolved to a public address at save
time and to 127.0.0.1 now (DNS rebinding) is refused. No redirects are followed and no
environment proxy is used.

`settings.OUTBOUND_TRUSTED_PREFIXES` lists URL prefixes exempt from the check (the local push
stand-in in tests and benchmarks); it is empty in production.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError


class UnsafeUrl(ValueError):
    """The URL is not an https URL on a public host."""


def address_is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def url_is_trusted(url: str) -> bool:
    return any(url.startswith(prefix) for prefix in getattr(settings, "OUTBOUND_TRUSTED_PREFIXES", ()) if prefix)


def public_url_check(url: str) -> None:
    """Raise UnsafeUrl unless `url` is https on a host whose every address is public."""
    if url_is_trusted(url):
        return
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError as exc:
        raise UnsafeUrl("Not a valid URL.") from exc
    if parts.scheme != "https" or not parts.hostname:
        raise UnsafeUrl("Only https endpoints are accepted.")
    if parts.username or parts.password:
        raise UnsafeUrl("Credentials in the URL are not accepted.")
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl("The endpoint's host does not resolve.") from exc
    addresses = {info[4][0] for info in infos}
    if not addresses or not all(address_is_public(a) for a in addresses):
        raise UnsafeUrl("The endpoint's host is not a public address.")


class _PublicPeerHTTPSConnection(HTTPSConnection):
    def _new_conn(self):
        sock = super()._new_conn()
        peer = sock.getpeername()[0]
        if not address_is_public(peer):
            sock.close()
            raise NewConnectionError(self, f"refused: {self.host} is at a non-public address")
        return sock


class _PublicPeerHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicPeerHTTPSConnection


class _PublicOnlyAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"https": _PublicPeerHTTPSPool}
        self.poolmanager.key_fn_by_scheme = {"https": self.poolmanager.key_fn_by_scheme["https"]}


def public_session(url: str) -> requests.Session:
    """A requests session for one send to `url`: https to public peers only, no redirects, no
    environment proxies. Trusted prefixes (tests' stand-in) get a plain session, still without
    redirects."""
    session = requests.Session()
    session.trust_env = False
    session.max_redirects = 0
    if not url_is_trusted(url):
        session.adapters.clear()
        session.mount("https://", _PublicOnlyAdapter())
    return session
