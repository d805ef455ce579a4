"""Identity. This app lives in every schema: platform staff in public, members per organization."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import CooldownMixin, SideChannelDevice, ThrottlingMixin
from django_otp.util import random_number_token

# Easy to read aloud and type on a phone: no 0/O, 1/I/L.
ACCOUNT_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ACCOUNT_CODE_LENGTH = 6


def new_account_code() -> str:
    return "".join(secrets.choice(ACCOUNT_CODE_ALPHABET) for _ in range(ACCOUNT_CODE_LENGTH))


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, phone_number, password=None, **extra):
        from accounts.phone import normalize_phone

        user = self.model(phone_number=normalize_phone(phone_number), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        if not user.account_code:
            user.account_code = new_account_code()
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username):
        """Password logins (Django admin) take the number as people type it, 0799... or +254799...,
        like the member login does."""
        from django.core.exceptions import ValidationError

        from accounts.phone import normalize_phone

        try:
            username = normalize_phone(username)
        except ValidationError:
            pass  # not a phone number: no such user, as before
        return super().get_by_natural_key(username)

    def create_superuser(self, phone_number, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True, role=User.Role.SUPER_ADMIN)
        return self.create_user(phone_number, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        SUPER_ADMIN = "super_admin", _("Platform owner")
        ORG_ADMIN = "org_admin", _("Organization admin")
        MEMBER = "member", _("Member")

    class Language(models.TextChoices):
        DEFAULT = "", _("Organization default")
        ENGLISH = "en", _("English")
        KISWAHILI = "sw", _("Kiswahili")

    phone_number = models.CharField(_("phone number"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=120, blank=True)
    email = models.EmailField(_("email"), blank=True)
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.MEMBER)
    account_code = models.CharField(
        _("account code"), max_length=12, unique=True, default=new_account_code,
        help_text=_("Typed as the M-Pesa account number."),
    )
    avatar = models.ImageField(upload_to="avatars/", blank=True)
    language = models.CharField(max_length=2, choices=Language.choices, blank=True, default="")
    referred_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals"
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "phone_number"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["name", "phone_number"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["super_admin", "org_admin", "member"]),
                name="user_role_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(phone_number__regex=r"^\+254[17][0-9]{8}$")
                | models.Q(role="super_admin"),
                name="user_phone_e164_ke",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.phone_number}"

    @property
    def is_org_admin(self) -> bool:
        return self.role == self.Role.ORG_ADMIN

    @property
    def display_name(self) -> str:
        return self.name or f"…{self.phone_number[-4:]}"


class AuditEvent(models.Model):
    """Who did what, when, from where, with before/after. One table per schema."""

    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    actor_label = models.CharField(max_length=120, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"


class SmsDevice(ThrottlingMixin, CooldownMixin, SideChannelDevice):
    """A phone's one-time-code device (django-otp side channel), one per phone number per schema.

    `user` is empty until the number belongs to a member: with open sign-up, an unknown number gets
    a device first and its member on the first good code. The token column holds an HMAC of the code,
    never the code itself; tries per code are capped on top of django-otp's exponential back-off.
    """

    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="sms_devices",
        help_text="The member this phone belongs to (empty until an open sign-up is verified).",
    )
    phone_number = models.CharField(max_length=16, unique=True)
    # An HMAC-SHA256 hex digest of the code (see accounts.otp), never the code.
    token = models.CharField(max_length=64, blank=True, null=True)

    class Meta:
        verbose_name = "SMS device"

    @staticmethod
    def token_digest(phone_number: str, code: str) -> str:
        """HMAC of the code, keyed by SECRET_KEY and bound to the phone: a leaked table gives no codes."""
        message = f"otp:{phone_number}:{code}".encode()
        return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()

    def generate_token(self, length: int | None = None, valid_secs: int | None = None, commit: bool = True) -> str:
        """Draw a new code, store only its digest, start its tries afresh and return the code."""
        code = random_number_token(length or settings.OTP_CODE_DIGITS)
        self.token = self.token_digest(self.phone_number, code)
        self.valid_until = timezone.now() + timedelta(seconds=valid_secs or settings.OTP_VALID_SECONDS)
        self.throttling_failure_count = 0
        self.throttling_failure_timestamp = None
        self.cooldown_set(commit=False)
        if commit:
            self.save()
        return code

    def tries_left(self) -> int:
        return max(0, settings.OTP_MAX_TRIES - self.throttling_failure_count)

    def verify_token(self, token) -> bool:
        """Check a code against the stored digest: tries capped per code, back-off between failures.

        The caller holds the row lock (select_for_update), so concurrent guesses count one by one.
        """
        if self.tries_left() <= 0 or not self.verify_is_allowed()[0]:
            return False
        now = timezone.now()
        good = (
            self.token is not None
            and now < self.valid_until
            and hmac.compare_digest(self.token, self.token_digest(self.phone_number, str(token or "").strip()))
        )
        if good:
            self.token = None
            self.valid_until = now
            self.throttle_reset(commit=False)
            self.last_generated_timestamp = None
            self.save()
        else:
            self.throttle_increment(commit=True)
        return good

    def get_throttle_factor(self) -> int:
        return settings.OTP_SMS_THROTTLE_FACTOR

    def get_cooldown_duration(self) -> int:
        return settings.OTP_RESEND_COOLDOWN_SECONDS


class JoinRequest(models.Model):
    """Someone a member's share link brought where open sign-up is off (issue 16 item 3): their name and number,
    waiting for a leader to add them. When a leader adds that number (by hand or by CSV) the new member is
    `referred_by` the member who shared the link, so the referral bonus follows their first deposit."""

    phone_number = models.CharField(max_length=16, unique=True)  # one request per number: the first link wins
    name = models.CharField(max_length=120)
    referred_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="join_requests")
    created_at = models.DateTimeField(default=timezone.now)
    joined = models.OneToOneField(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="join_request")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.phone_number})"
