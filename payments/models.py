"""The M-Pesa ledger and per-organization Daraja settings (tenant schema)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from fernet_fields import EncryptedTextField


def new_callback_token() -> str:
    return secrets.token_urlsafe(24)


class MpesaSettings(models.Model):
    """One row per organization (a singleton in its schema)."""

    class ShortcodeType(models.TextChoices):
        PAYBILL = "paybill", _("Paybill")
        TILL = "till", _("Till (Buy Goods)")

    class Environment(models.TextChoices):
        SIMULATOR = "simulator", _("Local simulator")
        SANDBOX = "sandbox", _("Daraja sandbox")
        PRODUCTION = "production", _("Production")

    shortcode = models.CharField(max_length=12, blank=True)
    shortcode_type = models.CharField(max_length=8, choices=ShortcodeType.choices, default=ShortcodeType.PAYBILL)
    environment = models.CharField(max_length=12, choices=Environment.choices, default=Environment.SIMULATOR)
    callback_token = models.CharField(max_length=64, unique=True, default=new_callback_token)
    # Secrets: Fernet-encrypted at rest (MultiFernet over FIELD_ENCRYPTION_KEYS), never rendered in full.
    consumer_key = EncryptedTextField(blank=True, default="")
    consumer_secret = EncryptedTextField(blank=True, default="")
    passkey = EncryptedTextField(blank=True, default="")
    initiator_name = models.CharField(max_length=64, blank=True)
    security_credential = EncryptedTextField(blank=True, default="")
    strict_validation = models.BooleanField(
        default=False, help_text=_("Reject Paybill payments whose account number matches no member (C2B00012).")
    )
    urls_registered_at = models.DateTimeField(null=True, blank=True)
    cash_second_approval_over = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True,
        help_text=_("A cash or bank deposit recorded by a leader above this amount (KES) needs a second leader's "
                    "approval before it is credited. Empty: never."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    SECRET_FIELDS = ("consumer_key", "consumer_secret", "passkey", "security_credential")

    class Meta:
        verbose_name = "M-Pesa settings"
        verbose_name_plural = "M-Pesa settings"

    def __str__(self) -> str:
        return f"{self.get_shortcode_type_display()} {self.shortcode or '(not set)'}"


class Transaction(models.Model):
    """Append-only ledger of deposits. Corrections are new rows pointing at the original."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        VERIFIED = "verified", _("Verified")
        FAILED = "failed", _("Failed")
        UNMATCHED = "unmatched", _("Unmatched")
        REVERSED = "reversed", _("Reversed")

    class Source(models.TextChoices):
        C2B = "c2b", _("Paybill / Till")
        STK = "stk", _("Save now (STK push)")
        MANUAL = "manual", _("Manual")
        REVERSAL = "reversal", _("Reversal")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    challenge = models.ForeignKey(
        "challenges.Challenge", null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    source = models.CharField(max_length=10, choices=Source.choices)
    transaction_id = models.CharField(max_length=40, unique=True, null=True, blank=True, help_text=_("M-Pesa TransID"))
    mpesa_receipt = models.CharField(max_length=40, unique=True, null=True, blank=True)
    checkout_request_id = models.CharField(max_length=80, unique=True, null=True, blank=True)
    phone_number = models.CharField(max_length=80, blank=True, help_text=_("E.164, or Daraja's SHA-256 hash"))
    bill_ref_number = models.CharField(max_length=40, blank=True)
    transacted_at = models.DateTimeField(null=True, blank=True, help_text=_("TransTime / TransactionDate"))
    verified_at = models.DateTimeField(null=True, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversal"
    )
    merchant_request_id = models.CharField(max_length=80, blank=True)
    result_code = models.CharField(max_length=16, blank=True, help_text=_("Daraja ResultCode of an STK push"))
    result_desc = models.CharField(max_length=255, blank=True)
    payer_name = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="tx_user_date"),
            models.Index(fields=["status", "created_at"], name="tx_status_date"),
            # The ledger lists (selectors.transaction_list): newest first by when the money moved,
            # a member's own rows and an org admin's whole ledger, so a page is an index range scan.
            models.Index(models.F("user"), Coalesce("transacted_at", "created_at").desc(), models.F("id").desc(),
                         name="tx_user_paid_desc"),
            models.Index(Coalesce("transacted_at", "created_at").desc(), models.F("id").desc(),
                         name="tx_paid_desc"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0) | models.Q(source="reversal"), name="tx_amount_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "verified", "failed", "unmatched", "reversed"]),
                name="tx_status_valid",
            ),
            # The receipt IS the TransID: a payment seen as an STK result and as a C2B confirmation is one row.
            models.CheckConstraint(
                condition=models.Q(mpesa_receipt__isnull=True) | models.Q(transaction_id__isnull=True)
                | models.Q(mpesa_receipt=models.F("transaction_id")),
                name="tx_receipt_is_transid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="verified") | models.Q(user__isnull=False),
                name="tx_verified_has_member",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} KES {self.status} ({self.mpesa_receipt or self.checkout_request_id or self.pk})"


class TransactionStatusChange(models.Model):
    """Audit trail of every status change of a ledger row (append-only like the ledger)."""

    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    reason = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"#{self.transaction_id}: {self.from_status or '-'} -> {self.to_status}"


class ManualDeposit(models.Model):
    """A cash or bank deposit a leader records for a member (chamas collect cash at meetings).

    Credited at once as a `manual` ledger row, or, above the organization's
    `cash_second_approval_over`, held `pending` until a second leader approves it (maker-checker).
    `request_key` comes from the form (or the API's Idempotency-Key): a double submit records once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a second leader")
        CREDITED = "credited", _("Credited")
        REJECTED = "rejected", _("Rejected")

    request_key = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    challenge = models.ForeignKey("challenges.Challenge", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    paid_on = models.DateField(help_text=_("The day the member paid, in the organization's time zone."))
    method = models.CharField(max_length=8, choices=[("cash", _("Cash")), ("bank", _("Bank"))], default="cash")
    note = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    transaction = models.OneToOneField(Transaction, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="manual_deposit")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="manual_amount_positive")]

    def __str__(self) -> str:
        return f"{self.amount} KES {self.method} for #{self.user_id} ({self.status})"


class UnmatchedOutcome(models.Model):
    """How an admin closed an unmatched payment without crediting anyone (issue 16.19).

    The ledger row keeps its amount and its `unmatched` status (the API's five statuses hold); this
    row takes it out of the queue and says why. `ignored` (a test payment, a duplicate the payer was
    told about) can be reopened; `refunded` (the money went back to the payer) is final, so the
    payment can never also be credited."""

    class Outcome(models.TextChoices):
        IGNORED = "ignored", _("Ignored")
        REFUNDED = "refunded", _("Refunded to the payer")

    transaction = models.OneToOneField(Transaction, on_delete=models.PROTECT, related_name="unmatched_outcome",
                                       primary_key=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    note = models.CharField(max_length=200, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_at"]

    def __str__(self) -> str:
        return f"#{self.transaction_id}: {self.outcome}"


class CallbackInbox(models.Model):
    """Every Daraja callback, stored raw before we answer, processed later by Celery.

    Unique on (kind, natural key): a replayed TransID / CheckoutRequestID / ConversationID is a no-op.
    """

    class Kind(models.TextChoices):
        VALIDATION = "validation", _("C2B validation")
        CONFIRMATION = "confirmation", _("C2B confirmation")
        STK = "stk_callback", _("STK push result")
        RESULT = "result", _("Transaction status result")
        TIMEOUT = "timeout", _("Transaction status time-out")

    class State(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")
        # Failed PAYMENTS_INBOX_QUARANTINE_AFTER times: no more automatic tries; an admin retries it by hand.
        QUARANTINED = "quarantined", _("Held back")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    natural_key = models.CharField(max_length=80)
    payload = models.JSONField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    remote_ip = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    transaction = models.ForeignKey(Transaction, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="callbacks")

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "natural_key"], name="inbox_kind_key_unique")]
        indexes = [
            models.Index(fields=["state", "received_at"], name="inbox_state_received"),
            # The drain's queue: only rows waiting for their first try, so it stays small whatever the history.
            models.Index(fields=["received_at", "id"], name="inbox_drain_queue",
                         condition=models.Q(state="received", attempts=0) & ~models.Q(kind="validation")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.natural_key} ({self.state})"


class StatusQuery(models.Model):
    """A Transaction Status request we sent, keyed by Daraja's ConversationID."""

    conversation_id = models.CharField(max_length=80, unique=True)
    originator_conversation_id = models.CharField(max_length=80, blank=True)
    trans_id = models.CharField(max_length=40, db_index=True)
    transaction = models.ForeignKey(Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    result = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"status {self.trans_id} ({self.conversation_id})"


class ReconciliationReport(models.Model):
    """The daily reconciliation report of one organization (one per Nairobi day)."""

    day = models.DateField(unique=True)
    totals = models.JSONField(default=dict)
    unmatched = models.JSONField(default=list)
    anomalies = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day"]
