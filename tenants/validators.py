"""Validators for organization fields that other apps check input against (ussd's callback forms)."""

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

# A USSD service code as Africa's Talking sends it (`*384*123#`), and the shortcode or long number
# members text (`22384`, `+254711082000`): each routes feature-phone traffic to one organization.
USSD_CODE_VALIDATOR = RegexValidator(r"^\*[0-9]{1,6}(\*[0-9]{1,6}){0,4}#$", _("Use a USSD code such as *384*123#."))
SMS_SHORTCODE_VALIDATOR = RegexValidator(
    r"^\+?[0-9]{3,15}$", _("Use the shortcode or number members text, digits only.")
)
