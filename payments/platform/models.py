"""Refused Daraja callbacks, in the public schema (one small capped table for every organization)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RefusedCallback(models.Model):
    """A callback answered with an error and stored nowhere else, so the platform owner and the
    organization's admins can see what Daraja (or someone else) sent.

    Bounded: recorded at PAYMENTS_REFUSALS_RATE per organization and capped at the newest
    PAYMENTS_REFUSALS_KEEP rows each. A body excerpt is kept only when the sender proved the
    organization's callback secret (and address, with MPESA_ALLOWED_IPS); a wrong-secret or
    wrong-address request leaves only its size, address and time.
    """

    class Reason(models.TextChoices):
        BAD_JSON = "bad_json", _("Not valid JSON")
        BAD_PAYLOAD = "bad_payload", _("Missing or invalid fields")
        TOO_LARGE = "too_large", _("Body too large")
        WRONG_TOKEN = "wrong_token", _("Wrong callback secret")
        FORBIDDEN_IP = "forbidden_ip", _("Address not allowed")
        # Stored and answered 200, but it failed every automatic try: held back in the inbox for a retry by hand.
        QUARANTINED = "quarantined", _("Held back after repeated failures")

    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, help_text=_("The callback URL it was sent to."))
    reason = models.CharField(max_length=16, choices=Reason.choices)
    detail = models.CharField(max_length=200, blank=True)
    status_code = models.PositiveSmallIntegerField()
    remote_ip = models.GenericIPAddressField(null=True, blank=True)
    body_bytes = models.PositiveIntegerField(default=0)
    body_excerpt = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-id"], name="refused_callback_org_newest")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reason__in=["bad_json", "bad_payload", "too_large", "wrong_token", "forbidden_ip",
                                          "quarantined"]),
                name="refused_callback_reason_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.reason} from {self.remote_ip or '?'}"
