import pytest
from django.core.exceptions import ValidationError

from accounts.phone import normalize_phone, phone_sha256


@pytest.mark.parametrize("raw", ["0712345678", "712345678", "254712345678", "+254712345678", "0712 345-678", "+254 712 345 678"])
def test_accepts_what_people_type(raw):
    assert normalize_phone(raw) == "+254712345678"


def test_accepts_the_newer_01_prefix():
    assert normalize_phone("0110123456") == "+254110123456"


@pytest.mark.parametrize(
    ("raw", "code"),
    [("", "required"), ("hello", "invalid"), ("0712", "length"), ("+14155550100", "not_kenyan"),
     ("0201234567", "not_mobile"), ("07123456789", "length")],
)
def test_refuses_with_a_reason(raw, code):
    with pytest.raises(ValidationError) as excinfo:
        normalize_phone(raw)
    assert excinfo.value.code == code
    assert excinfo.value.messages[0]


def test_daraja_hash_is_sha256_of_the_number_without_plus():
    import hashlib

    assert phone_sha256("+254712345678") == hashlib.sha256(b"254712345678").hexdigest()
