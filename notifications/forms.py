"""The member's notification choices on /profile/ (the page is the web capability's; the block is ours)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from notifications.models import Channel

FORM_PREFIX = "notif"


class NotificationPreferencesForm(forms.Form):
    """Mirrors `notification_preferences_update`: channel, WhatsApp, SMS on/off, reminders on/off."""

    channel = forms.ChoiceField(
        label=_("Send my messages by"),
        choices=Channel.choices,
        help_text=_("If a message cannot go this way, it comes by SMS."),
    )
    has_whatsapp = forms.BooleanField(label=_("I use WhatsApp on this number"), required=False)
    sms_enabled = forms.BooleanField(
        label=_("Send me SMS messages"),
        required=False,
        help_text=_(
            "Turn this off to stop SMS about your deposits, streaks and challenges. Login codes still "
            "come by SMS, because you need them to sign in. If notifications are on for this phone, "
            "you get those instead."
        ),
    )
    reminders_enabled = forms.BooleanField(
        label=_("Reminders and announcements"),
        required=False,
        help_text=_(
            "Streak reminders, weekly summaries and announcements from your group's leaders. "
            "Payment confirmations always come."
        ),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", FORM_PREFIX)
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if data.get("channel") == Channel.WHATSAPP and not data.get("has_whatsapp"):
            self.add_error("has_whatsapp", _("Tick this box to get your messages on WhatsApp."))
        return data
