"""Pages: the leader's notifications dashboard, and Africa's Talking's delivery-report callback."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.decorators import org_admin_required
from notifications import content, selectors, services
from notifications.sources import source
from notifications.models import Broadcast, SmsSettings


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(f"{msg}" for msgs in exc.message_dict.values() for msg in msgs)
    return " ".join(exc.messages)


@org_admin_required
def manage_notifications(request):
    ctx: dict = {"broadcast_form": {"message": "", "audience": "all", "challenge": ""}, "edit": None}
    if request.method == "POST":
        action = request.POST.get("action", "")
        handler = _ACTIONS.get(action)
        if handler is None:
            messages.error(request, _("Unknown action."))
        else:
            response = handler(request, ctx)
            if response is not None:
                return response
    edit_key = request.GET.get("edit", "")
    if ctx["edit"] is None and ":" in edit_key:
        key, language = edit_key.split(":", 1)
        for row in selectors.template_list():
            if row["key"] == key and row["language"] == language:
                ctx["edit"] = row
    ctx.update(
        templates=selectors.template_list(),
        sms_settings=selectors.sms_settings_get(),
        delivery_report_url=request.build_absolute_uri(selectors.delivery_report_path()),
        broadcasts=[selectors.broadcast_progress(broadcast=b) for b in selectors.broadcast_list()],
        challenges=_challenges(),
        max_broadcast=content.MAX_BROADCAST_CHARS,
    )
    return render(request, "notifications/manage.html", ctx)


def _challenges():
    """The challenges a broadcast can address (the game's selector, installed in notifications/sources.py)."""
    return source("broadcast_challenges")()


def _broadcast_input(request):
    audience = request.POST.get("audience", "all")
    challenge = request.POST.get("challenge") or None
    message = request.POST.get("message", "").strip()
    form = {"message": message, "audience": audience, "challenge": challenge or ""}
    if not message:
        raise ValidationError(_("Write the announcement first."))
    if len(message) > content.MAX_BROADCAST_CHARS:
        raise ValidationError(_("At most %(n)d characters.") % {"n": content.MAX_BROADCAST_CHARS})
    if audience not in Broadcast.Audience.values:
        raise ValidationError(_("Choose who gets it."))
    if audience == Broadcast.Audience.CHALLENGE and not (challenge or "").isdigit():
        raise ValidationError(_("Choose the challenge whose participants get it."))
    return form, message, audience, int(challenge) if challenge and challenge.isdigit() else None


def _broadcast_preview(request, ctx):
    try:
        form, message, audience, challenge = _broadcast_input(request)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        ctx["broadcast_form"] = {"message": request.POST.get("message", ""), "audience": request.POST.get("audience", "all"), "challenge": ""}
        return
    ctx["broadcast_form"] = form
    ctx["broadcast_preview"] = selectors.broadcast_preview(message=message, audience=audience, challenge_id=challenge)
    return


def _broadcast_send(request, ctx):
    try:
        _form, message, audience, challenge = _broadcast_input(request)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return None
    row = services.broadcast_create(actor=request.user, message=message, audience=audience, challenge_id=challenge)
    messages.success(request, _("Sending to %(n)d members.") % {"n": row.recipients})
    return redirect(reverse("manage-notifications") + f"#broadcast-{row.pk}")


def _template_fields(request):
    return request.POST.get("key", ""), request.POST.get("language", ""), request.POST.get("title", "").strip(), request.POST.get("body", "").strip()


def _template_preview(request, ctx):
    key, language, title, body = _template_fields(request)
    if key not in content.PLACEHOLDERS or language not in content.LANGUAGES:
        raise Http404
    ctx["edit"] = selectors.template_describe(key=key, language=language, title=title, body=body) | {"customized": False}
    try:
        services.notification_template_validate(key=key, title=title, body=body)
        ctx["edit"]["valid"] = True
    except ValidationError as exc:
        ctx["edit"]["error"] = _errors(exc)


def _template_save(request, ctx):
    key, language, title, body = _template_fields(request)
    try:
        services.notification_template_save(actor=request.user, key=key, language=language, title=title, body=body)
    except ValidationError as exc:
        ctx["edit"] = selectors.template_describe(key=key, language=language, title=title, body=body) | {"error": _errors(exc)}
        return None
    messages.success(request, _("Template saved."))
    return redirect(reverse("manage-notifications") + "#templates")


def _template_reset(request, ctx):
    key, language, _t, _b = _template_fields(request)
    services.notification_template_reset(actor=request.user, key=key, language=language)
    messages.success(request, _("Back to the default wording."))
    return redirect(reverse("manage-notifications") + "#templates")


def _settings_save(request, ctx):
    fields = ("username", "api_key", "sender_id", "whatsapp_number", "cost_per_segment", "quiet_hours_start",
              "quiet_hours_end", "daily_cap")
    data = {f: request.POST.get(f, "").strip() for f in fields if f in request.POST}
    try:
        from datetime import time
        from decimal import Decimal, InvalidOperation

        if "cost_per_segment" in data:
            data["cost_per_segment"] = Decimal(data["cost_per_segment"] or "0")
        for f in ("quiet_hours_start", "quiet_hours_end"):
            if f in data:
                data[f] = time.fromisoformat(data[f])
        if "daily_cap" in data:
            data["daily_cap"] = int(data["daily_cap"])
        services.sms_settings_update(actor=request.user, data=data)
    except (ValidationError, ValueError, InvalidOperation) as exc:
        messages.error(request, _errors(exc) if isinstance(exc, ValidationError) else _("Check the values: %(e)s") % {"e": exc})
        return None
    messages.success(request, _("SMS settings saved."))
    return redirect(reverse("manage-notifications") + "#sms-settings")


_ACTIONS = {
    "broadcast_preview": _broadcast_preview, "broadcast_send": _broadcast_send,
    "template_preview": _template_preview, "template_save": _template_save, "template_reset": _template_reset,
    "settings_save": _settings_save,
}


@csrf_exempt
@require_POST
def delivery_report(request, token: str):
    """Africa's Talking SMS delivery report (form fields id, status, phoneNumber, networkCode,
    failureReason). Authenticated by the org's secret token in the path. Always 200 for a known
    token, so the provider does not retry reports about messages we do not know."""
    if not SmsSettings.objects.filter(callback_token=token).exists():
        raise Http404
    services.delivery_report_apply(
        provider_message_id=request.POST.get("id", ""), status=request.POST.get("status", ""),
        phone_number=request.POST.get("phoneNumber", ""), network_code=request.POST.get("networkCode", ""),
        failure_reason=request.POST.get("failureReason", ""),
    )
    return HttpResponse("OK", content_type="text/plain")


def notification_open(request, pk: int):
    """Where a web push click lands: note the open, then go to the member's home page."""
    services.notification_opened(notification_id=pk, signature=request.GET.get("s", "")[:100])
    return redirect("home")
