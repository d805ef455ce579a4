"""Persistent connections (the Procfile's gunicorn gthread with CONN_MAX_AGE=60) are safe with
django-tenants: one server thread, one reused PostgreSQL connection, two organizations in turn, and
each request sees only its own organization (search_path is set again per request)."""

from __future__ import annotations

import uuid
from wsgiref.simple_server import WSGIRequestHandler, make_server

import requests
from django.conf import settings
from django.db import connection, connections
from django_tenants.utils import schema_context

from tests.live.conftest import session_for


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def _serve_one_thread():
    """A single-threaded WSGI server (Django's test servers close every connection after each request;
    this one, like a gunicorn thread, leaves that to Django's CONN_MAX_AGE)."""
    import threading

    from django.core.wsgi import get_wsgi_application

    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=_Quiet)
    def run():
        try:
            server.serve_forever(poll_interval=0.05)
        finally:
            connections.close_all()  # this thread's kept connection, so the test database can be dropped

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return server, thread


def test_one_persistent_connection_serves_two_organizations_apart(committed_org, monkeypatch, pg_connections):
    from accounts.factories import UserFactory
    from accounts.models import User
    from challenges.services import challenge_create, local_today
    from tenants.models import Organization
    from tenants.services import organization_create

    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.set_schema_to_public()
    slug = f"live-{uuid.uuid4().hex[:8]}"
    second = organization_create(slug=slug, name=f"Live {slug}", type="chama", admin_phone="+254722000001",
                                 shortcode="600998")
    try:
        keys = {}
        for organization, name in ((committed_org, "Only in the first"), (second, "Only in the second")):
            with schema_context(organization.schema_name):
                admin = User.objects.get(phone_number="+254722000001")
                challenge_create(actor=admin, name=name, type="fixed_amount", status="active",
                                 target={"amount": "100", "frequency": "weekly"}, duration_days=30,
                                 start_date=local_today())
                keys[organization.slug] = (session_for(organization, UserFactory()), name)
        before = pg_connections()
        server, thread = _serve_one_thread()
        seen = []
        try:
            port = server.server_address[1]
            for _ in range(6):
                for organization in (committed_org, second):
                    key, _name = keys[organization.slug]
                    response = requests.get(f"http://127.0.0.1:{port}/api/v1/challenges", timeout=30, cookies={
                        settings.SESSION_COOKIE_NAME: key}, headers={"Host": f"{organization.slug}.{settings.BASE_DOMAIN}"})
                    assert response.status_code == 200
                    seen.append((organization.slug, sorted(c["name"] for c in response.json()["results"])))
            during = pg_connections()
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
        assert seen == [(o.slug, [keys[o.slug][1]]) for _ in range(6) for o in (committed_org, second)]
        assert during - before == 1  # the server thread kept one connection for all 12 requests
    finally:
        connection.set_schema_to_public()
        Organization.objects.get(pk=second.pk).delete(force_drop=True)
