"""Shared API plumbing: every error under /api/ is JSON in DRF's shape, never a stack trace."""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "request_too_large"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Temporarily unavailable. Try again in a moment."
    default_code = "service_unavailable"


def exception_handler(exc, context):
    import redis

    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
        # e.g. login codes refuse to go out without their limits: say so, not "500"
        logger.error("redis unavailable during an API request", exc_info=exc)
        response = drf_exception_handler(ServiceUnavailable(), context)
        response["Retry-After"] = "5"
        return response
    from savegame.unavailable import DATABASE_DOWN, RETRY_AFTER_SECONDS

    if isinstance(exc, DATABASE_DOWN):
        logger.error("database unavailable during an API request", exc_info=exc)
        response = drf_exception_handler(ServiceUnavailable(), context)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, SuspiciousOperation):  # e.g. too many form fields: the client's fault, not ours
        exc = exceptions.ParseError(detail="The request could not be read.")
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(
            {"detail": "Internal server error."}, status=status.HTTP_500_INTERNAL_SERVER_ERROR
        )
    return response


_REASONS = {
    400: "Bad request.",
    401: "Authentication credentials were not provided.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    405: "Method not allowed.",
    413: "Request body too large.",
    429: "Too many requests.",
    500: "Internal server error.",
}


class ApiJsonErrorMiddleware:
    """Under /api/, turn every error that did not come from DRF (Django's 404 for an unknown path,
    a 405 from a plain view, an unhandled exception) into a JSON body in DRF's shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/api/") or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json") or getattr(response, "streaming", False):
            return response
        return self._json(response.status_code, response)

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        from django.core.exceptions import PermissionDenied
        from django.http import Http404

        if isinstance(exception, Http404):
            return self._json(404)
        if isinstance(exception, PermissionDenied):
            return self._json(403)
        from savegame.unavailable import database_down_response

        unavailable = database_down_response(request, exception)
        if unavailable is not None:
            return unavailable
        logger.exception("unhandled API error", exc_info=exception)
        return self._json(500)

    @staticmethod
    def _json(status_code: int, original=None):
        from django.http import JsonResponse

        detail = _REASONS.get(status_code) or (getattr(original, "reason_phrase", "") or "Error.")
        response = JsonResponse({"detail": detail}, status=status_code)
        if original is not None:
            for header in ("Retry-After", "Allow", "WWW-Authenticate", "X-Request-ID"):
                if header in original:
                    response[header] = original[header]
        return response
