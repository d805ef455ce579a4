import pytest
from django.test import RequestFactory, override_settings

from savegame.clientip import client_ip


@pytest.mark.parametrize(
    ("count", "xff", "expected"),
    [
        (0, "6.6.6.6", "10.0.0.1"),                       # no proxies: header ignored
        (1, "6.6.6.6, 41.90.1.2", "41.90.1.2"),           # forged left part ignored
        (2, "6.6.6.6, 41.90.1.2, 10.0.0.9", "41.90.1.2"),
        (1, "", "10.0.0.1"),
    ],
)
def test_client_ip_trusts_only_configured_proxies(count, xff, expected):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=xff)
    with override_settings(TRUSTED_PROXY_COUNT=count):
        assert client_ip(request) == expected
