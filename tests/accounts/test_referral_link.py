"""Issue 16 item 3: the share link's ?ref= is validated (a 400 naming it) and remembered for open sign-up."""

from __future__ import annotations


def test_junk_ref_is_a_400_naming_it_and_a_good_one_is_remembered(client_for, org, tenant):
    client = client_for(org)
    for junk in ("", "x", "abc-def", "A" * 40, "%00"):
        response = client.get("/login/", {"ref": junk})
        assert response.status_code == 400 and b"ref" in response.content, junk
    assert client.get("/login/", {"ref": "abc234"}).status_code == 200
    assert client.session["signup_referral"] == "ABC234"


def test_profile_shows_the_link_only_with_open_signup(client_for, org, tenant):
    from accounts.factories import UserFactory
    from tenants.services import organization_update

    member = UserFactory()
    client = client_for(org)
    client.force_login(member)
    organization_update(organization=org, data={"open_signup": False})
    assert b"data-invite-link" not in client.get("/profile/").content
    organization_update(organization=org, data={"open_signup": True})
    try:
        html = client.get("/profile/").content.decode()
        assert f"/login/?ref={member.account_code}" in html and "500" in html
    finally:
        organization_update(organization=org, data={"open_signup": False})
