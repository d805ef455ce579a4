"""The leader dashboard's navigation: only pages whose URL names exist, the current section marked
(sub-pages such as /manage/members/import/ mark "Members")."""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

register = template.Library()

SECTIONS = [
    ("manage-overview", _("Overview")),
    ("manage-challenges", _("Challenges")),
    ("manage-members", _("Members")),
    ("manage-transactions", _("Transactions")),
    ("manage-unmatched", _("Unmatched payments")),
    ("manage-mpesa", _("M-Pesa")),
    ("manage-notifications", _("Notifications")),
    ("manage-analytics", _("Analytics")),
    ("manage-settings", _("Settings")),
    ("manage-audit", _("Audit log")),
]


@register.simple_tag(takes_context=True)
def manage_nav_items(context) -> list[dict]:
    request = context.get("request")
    path = getattr(request, "path", "")
    items = []
    for name, label in SECTIONS:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"name": name, "url": url, "label": label})
    # the longest matching prefix is the current section ("/manage/" only matches itself)
    best = max((i for i in items if path == i["url"] or (i["name"] != "manage-overview" and path.startswith(i["url"]))),
               key=lambda i: len(i["url"]), default=None)
    for item in items:
        item["current"] = item is best
    return items
