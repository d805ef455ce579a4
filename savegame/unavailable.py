"""A database that is down is answered 503 JSON on the machine paths (/hooks/, /api/), at once.

Django turns an exception raised anywhere in the middleware or a view into a response at the layer it
was raised in (convert_exception_to_response), so no outer middleware sees it: the URLconfs' handler500
is the one place every such error passes. Daraja retries a callback it did not get a 200 for, and an
API client reads Retry-After; neither can use Django's HTML error page.
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponseServerError, JsonResponse
from django.template import TemplateDoesNotExist, loader
from django.views.defaults import server_error as django_server_error

logger = logging.getLogger(__name__)

DATABASE_DOWN = (OperationalError, InterfaceError)
MACHINE_PREFIXES = ("/hooks/", "/api/")
RETRY_AFTER_SECONDS = 5


def database_down_response(request, exception: BaseException | None) -> JsonResponse | None:
    """503 JSON for a lost or refused database connection on /hooks/ and /api/; None otherwise."""
    if not isinstance(exception, DATABASE_DOWN) or not request.path.startswith(MACHINE_PREFIXES):
        return None
    logger.error("database unavailable", extra={"path": request.path, "error": str(exception)[:200]})
    if request.path.startswith("/hooks/"):
        body = {"ResultCode": 1, "ResultDesc": "Temporarily unavailable"}
    else:
        body = {"detail": "Temporarily unavailable. Try again in a moment."}
    response = JsonResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request, *args, **kwargs):
    """handler500 of both URLconfs: the database-down answer, else the 500 page.

    Rendered as Django's own server_error does (no context processors: they may be what failed), plus
    the response's CSP nonce for the page's one <style> (docs/SECURITY.md)."""
    down = database_down_response(request, sys.exc_info()[1])
    if down is not None:
        return down
    try:
        template = loader.get_template("500.html")
    except TemplateDoesNotExist:
        return django_server_error(request, *args, **kwargs)
    return HttpResponseServerError(template.render({"csp_nonce": str(getattr(request, "csp_nonce", ""))}))
