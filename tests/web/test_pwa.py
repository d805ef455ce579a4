"""The installable app per organization: manifest, icons, favicon, service worker, offline page."""

import json

from tenants.services import organization_update


def test_manifest_is_the_organizations_own(client_for, org, other_org, db):
    organization_update(organization=org, data={"branding": {**org.branding, "primary_color": "#123456"}})
    try:
        response = client_for(org).get("/manifest.webmanifest")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/manifest+json"
        data = json.loads(response.content)
        assert data["name"] == org.name and data["theme_color"] == "#123456"
        assert data["display"] == "standalone" and data["start_url"].startswith("/") and data["scope"] == "/"
        assert {"192x192", "512x512"} <= {i["sizes"] for i in data["icons"]}
        other = json.loads(client_for(other_org).get("/manifest.webmanifest").content)
        assert other["name"] == other_org.name and other["theme_color"] != "#123456"
    finally:
        organization_update(organization=org, data={"branding": {**org.branding, "primary_color": "#0f766e"}})


def test_every_icon_in_the_manifest_is_served(client_for, org, db):
    client = client_for(org)
    for icon in json.loads(client.get("/manifest.webmanifest").content)["icons"]:
        response = client.get(icon["src"])
        assert response.status_code == 200, icon["src"]
        assert response["Content-Type"] == icon["type"]
        body = b"".join(response) if response.streaming else response.content
        if icon["type"] == "image/png":
            from io import BytesIO

            from PIL import Image

            assert Image.open(BytesIO(body)).size == tuple(int(x) for x in icon["sizes"].split("x"))
    assert client.get("/icons/icon-100.png").status_code == 404


def test_favicon_is_drawn_from_the_brand(client_for, org, db):
    svg = client_for(org).get("/favicon.svg").content.decode()
    assert 'fill="#0f766e"' in svg and ">A</text>" in svg  # Alpha Chama's colour and initial
    assert client_for(org).get("/favicon.ico")["Location"] == "/favicon.svg"


def test_service_worker_is_served_from_the_root_with_its_scope(client_for, org, db):
    response = client_for(org).get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    body = response.content.decode()
    config = json.loads(body.split("const CONFIG = ", 1)[1].split(";\n", 1)[0])
    assert config["offline"] == "/offline/" and "/" in config["pages"]
    assert "/static/css/app.css" in config["shell"]


def test_every_page_links_the_manifest_and_favicon(client_for, org, db):
    for path in ("/offline/", "/no-such-page/"):
        html = client_for(org).get(path).content.decode()
        assert '<link rel="manifest" href="/manifest.webmanifest">' in html, path
        assert 'rel="icon" href="/favicon.svg"' in html, path


def test_offline_page_says_when_it_last_synced(client_for, org, db):
    html = client_for(org).get("/offline/").content.decode()
    assert "Last synced:" in html and "data-last-synced" in html


def test_pwa_files_do_not_exist_on_the_platform_host(db, org):
    from django.test import Client

    assert Client(HTTP_HOST="localhost").get("/manifest.webmanifest").status_code == 404


def test_offline_page_is_rendered_per_language_for_the_service_worker(client_for, org, db):
    """Issue 16 item 14: the worker keeps one offline page per language (?lang=); junk is a 400 naming it."""
    client = client_for(org)
    config = json.loads(client.get("/sw.js").content.decode().split("const CONFIG = ", 1)[1].split(";\n", 1)[0])
    assert config["languages"] == ["en", "sw"]
    swahili = client.get("/offline/?lang=sw")
    assert swahili.status_code == 200 and swahili["Content-Language"] == "sw"
    assert '<html lang="sw"' in swahili.content.decode() and "Huna mtandao" in swahili.content.decode()
    english = client.get("/offline/?lang=en", HTTP_COOKIE="django_language=sw")
    assert '<html lang="en"' in english.content.decode() and "You are offline" in english.content.decode()
    for junk in ("xx", "", "sw;"):
        response = client.get("/offline/", {"lang": junk})
        assert response.status_code == 400 and "lang" in response.json(), junk
