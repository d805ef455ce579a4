"""Issue 16 item 3: the share link's ?ref= is validated (a 400 naming it) and remembered for open sign-up."""

from __future__ import annotations


def test_junk_ref_is_a_400_naming_it_and_a_good_one_is_remembered(client_for, org, tenant):
    client = client_for(org)
    for junk in ("", "x", "abc-def", "A" * 40, "%00"):
        response = client.get("/login/", {"ref": junk})
        assert response.status_code == 400 and b"ref" in response.content, junk
    assert client.get("/login/", {"ref": "abc234"}).status_code == 200
    assert client.session["signup_referral"] == "ABC234"


def test_profile_link_signs_up_with_open_signup_and_asks_the_leaders_without(client_for, org, tenant):
    """With open sign-up the link is the login page's; without (most chamas add their members) it is the join
    page, where the friend asks the leaders (item 3: the link existed only with open sign-up before)."""
    from accounts.factories import UserFactory
    from tenants.services import organization_update

    member = UserFactory()
    client = client_for(org)
    client.force_login(member)
    organization_update(organization=org, data={"open_signup": False})
    html = client.get("/profile/").content.decode()
    assert f"/join/?ref={member.account_code}" in html and "a leader adds them" in html and "500" in html
    organization_update(organization=org, data={"open_signup": True})
    try:
        html = client.get("/profile/").content.decode()
        assert f"/login/?ref={member.account_code}" in html and "500" in html
        assert client.get("/join/", {"ref": member.account_code})["Location"] == f"/login/?ref={member.account_code}"
    finally:
        organization_update(organization=org, data={"open_signup": False})


def test_a_friend_asks_to_join_the_leaders_are_told_and_adding_the_number_credits_the_member(
        client_for, org, tenant, org_admin):
    """Item 3 where sign-up is closed: the share link takes the friend's name and number, each leader gets a
    join_request message naming both, and when a leader adds that number the friend is the member's referral,
    so the bonus follows the friend's first deposit."""
    from decimal import Decimal

    from django.utils import timezone

    from accounts.factories import UserFactory
    from accounts.models import JoinRequest, User
    from challenges.models import PointAward
    from challenges.services import deposit_score
    from notifications.models import Notification
    from payments.models import Transaction

    member = UserFactory(name="Otieno Ouma")
    friend = client_for(org)
    page = friend.get("/join/", {"ref": member.account_code})
    assert page.status_code == 200 and b'name="phone_number"' in page.content
    bad = friend.post(f"/join/?ref={member.account_code}", {"name": "", "phone_number": "12"})
    assert bad.status_code == 400 and not JoinRequest.objects.exists()
    asked = friend.post(f"/join/?ref={member.account_code}", {"name": "Njeri Wambui", "phone_number": "0712 999 333"})
    assert asked.status_code == 200 and b"data-join-sent" in asked.content
    request = JoinRequest.objects.get()
    assert (request.phone_number, request.name, request.referred_by_id) == ("+254712999333", "Njeri Wambui", member.pk)
    told = Notification.objects.get(template="join_request", user=org_admin)
    assert all(word in told.message for word in ("Njeri Wambui", "+254712999333", "invited by Otieno Ouma")), told.message
    # asking again, or for a number that is already a member, changes nothing and answers the same
    again = friend.post(f"/join/?ref={member.account_code}", {"name": "Njeri W", "phone_number": "+254712999333"})
    known = friend.post(f"/join/?ref={member.account_code}", {"name": "X", "phone_number": member.phone_number})
    assert b"data-join-sent" in again.content and b"data-join-sent" in known.content
    assert JoinRequest.objects.count() == 1 and Notification.objects.filter(template="join_request").count() == 1

    leader = client_for(org)
    leader.force_login(org_admin)
    added = leader.post("/manage/members/add/", {"name": "Njeri Wambui", "phone_number": "0712999333", "role": "member"})
    assert added.status_code == 302
    newcomer = User.objects.get(phone_number="+254712999333")
    assert newcomer.referred_by_id == member.pk and JoinRequest.objects.get().joined_id == newcomer.pk
    now = timezone.now()
    tx = Transaction.objects.create(user=newcomer, amount=Decimal("200"), status="verified", source="c2b",
                                    transaction_id="TSTJOIN001", mpesa_receipt="TSTJOIN001", transacted_at=now,
                                    verified_at=now)
    deposit_score(transaction_id=tx.pk)
    assert PointAward.objects.get(user=member, reason=PointAward.Reason.REFERRAL).points == 500
    profile = client_for(org)
    profile.force_login(member)
    assert "1 friend joined with your link" in profile.get("/profile/").content.decode()


def test_join_page_refuses_junk_and_unknown_codes_naming_ref(client_for, org, tenant):
    client = client_for(org)
    for junk in ("", "x", "abc-def", "ZZZZ9999"):
        response = client.get("/join/", {"ref": junk})
        assert response.status_code == 400 and b"ref" in response.content, junk
        assert b"Ask the member who sent it to share their link again." in response.content, junk  # a page, not bare text


def test_login_page_from_a_share_link_says_where_to_ask_when_signup_is_closed(client_for, org, tenant):
    from accounts.factories import UserFactory

    member = UserFactory()
    client = client_for(org)
    html = client.get("/login/", {"ref": member.account_code}).content.decode()
    assert f'href="/join/?ref={member.account_code}"' in html
