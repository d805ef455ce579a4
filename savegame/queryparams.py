"""Query parameters are validated before they reach a query: a bad one is a 400 that names it.

Unvalidated, `?member=abc` reached PostgreSQL as an integer comparison and `?q=%00` as a string
PostgreSQL refuses: both were 500s. Each entry point declares its parameters as a small Django form
and calls `query_params_clean`; the API's exception handler turns the QueryParamError into DRF's
400 `{"member": ["Enter a whole number."]}`, and pages wrapped in `@query_params_checked` answer a
plain-text 400 naming the parameter.
"""

from __future__ import annotations

from functools import wraps

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpResponse

MAX_ID = 2**63 - 1  # PostgreSQL bigint


class QueryParamError(ValidationError):
    """One or more query parameters are malformed; `message_dict` maps each name to its reasons."""


def id_param(**kwargs) -> forms.IntegerField:
    return forms.IntegerField(required=False, min_value=1, max_value=MAX_ID, **kwargs)


def text_param(*, max_length: int = 200, **kwargs) -> forms.CharField:
    """Free text; NUL characters (which PostgreSQL cannot store or compare) are refused."""
    return forms.CharField(required=False, max_length=max_length, **kwargs)


def choice_param(choices, **kwargs) -> forms.ChoiceField:
    return forms.ChoiceField(required=False, choices=[("", ""), *choices], **kwargs)


def query_params_clean(*, params, form_class: type[forms.Form], **form_kwargs) -> dict:
    """The cleaned values of `form_class`'s fields from `params` (a QueryDict); parameters the form
    does not name are ignored. Raises QueryParamError naming every bad one."""
    form = form_class(data=params, **form_kwargs)
    if form.is_valid():
        return form.cleaned_data
    raise QueryParamError({name: [str(message) for message in errors] for name, errors in form.errors.items()})


def query_param_error_response(exc: QueryParamError) -> HttpResponse:
    lines = [f"Invalid query parameter {name!r}: {' '.join(messages)}" if name != "__all__" else " ".join(messages)
             for name, messages in exc.message_dict.items()]
    return HttpResponse("\n".join(lines), status=400, content_type="text/plain; charset=utf-8")


def query_params_checked(view):
    """A page view whose QueryParamError becomes the 400 that names the parameter."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except QueryParamError as exc:
            return query_param_error_response(exc)

    return wrapper
