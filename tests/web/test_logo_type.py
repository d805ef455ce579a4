"""The logo is served as the image type its bytes are, never the uploaded file name's (issue 14, item 9)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.web.test_organization_api import admin_api, restore_org  # noqa: F401  (fixtures)


def _image(fmt: str, name: str) -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 120, 90)).save(buf, format=fmt)
    buf.seek(0)
    buf.name = name
    return buf


@pytest.mark.parametrize(("fmt", "name", "mime"), [
    ("PNG", "logo.pdf", "image/png"),
    ("PNG", "logo.eps", "image/png"),
    ("JPEG", "logo.png", "image/jpeg"),
    ("WEBP", "logo.gif", "image/webp"),
])
def test_logo_is_served_as_its_sniffed_type_with_nosniff(admin_api, client_for, org, restore_org, fmt, name, mime):  # noqa: F811
    response = admin_api.post("/api/v1/organizations/current/branding", {"logo": _image(fmt, name)}, format="multipart")
    assert response.status_code == 200, response.content
    org.refresh_from_db()
    assert org.logo.name.endswith("." + {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}[fmt])  # stored as what it is
    logo = client_for(org).get(response.json()["branding"]["logo_url"])
    assert logo.status_code == 200
    assert logo["Content-Type"] == mime and logo["X-Content-Type-Options"] == "nosniff"


def test_a_stored_file_that_is_not_an_image_is_never_served(client_for, org, restore_org, db):  # noqa: F811
    from django.core.files.base import ContentFile

    org.logo.save("old.png", ContentFile(b"<html><script>alert(1)</script></html>"), save=True)
    response = client_for(org).get("/logo")
    assert response.status_code == 404
