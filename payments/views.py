"""payments pages: the member's transactions and "Save now"; the leader's ledger, unmatched queue and M-Pesa settings."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts.decorators import org_admin_required
from payments import selectors, services
from payments.api.serializers import transaction_message
from payments.forms import ManualDepositForm, PendingTransactionForm, TransactionFilterForm
from payments.models import ManualDeposit, MpesaSettings, Transaction
from savegame.clientip import client_ip
from savegame.csvexport import csv_response
from savegame.queryparams import query_params_checked, query_params_clean

MPESA_NOT_READY = gettext_lazy("Saving with M-Pesa is not open yet: your group's leaders are still setting up M-Pesa. "
                               "You can save as soon as they finish.")
FILTERS = ["status", "source", "member", "challenge", "date_from", "date_to", "q"]
REFUSED_SHOWN = 25  # newest refused callbacks on the M-Pesa page


def _page(request, queryset, per_page: int = 25):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


@login_required
@require_GET
@query_params_checked
def transaction_list(request):
    status = query_params_clean(params=request.GET, form_class=TransactionFilterForm)["status"]
    page = _page(request, selectors.transaction_list(user=request.user, filters={"status": status}))
    return render(request, "payments/transaction_list.html", {"page": page, "statuses": Transaction.Status.choices,
                                                              "status": request.GET.get("status", "")})


@login_required
@require_http_methods(["GET", "POST"])
@query_params_checked
def save_now(request):
    from challenges.selectors import winnable_challenges
    from payments.daraja import DarajaError

    settings_row = MpesaSettings.objects.first()
    # Only challenges this member joined and can still win (joining is an explicit step on the challenge page).
    challenges = winnable_challenges(user=request.user)
    context = {"mpesa": settings_row, "challenges": challenges, "pending": None, "error": "", "amount": ""}
    if request.method == "POST" and not selectors.mpesa_ready():
        # the page offers no form until M-Pesa works (issue 16 item 21); a stale form posted anyway
        context["error"] = str(MPESA_NOT_READY)
        return render(request, "payments/save_now.html", context, status=409)
    if request.method == "POST":
        raw = (request.POST.get("amount") or "").strip()
        context["amount"] = raw
        try:
            amount = Decimal(raw)
            if amount < 1 or amount > 250000 or amount != amount.to_integral_value():
                raise InvalidOperation
        except InvalidOperation:
            context["error"] = _("Enter a whole number of shillings between 1 and 250,000.")
            return render(request, "payments/save_now.html", context, status=400)
        challenge = None
        if request.POST.get("challenge"):
            challenge = challenges.filter(pk=request.POST["challenge"] if request.POST["challenge"].isdigit() else 0).first()
            context["selected_challenge"] = challenge.pk if challenge else None
            if challenge is None:
                context["error"] = _("Join this challenge before saving towards it.")
                return render(request, "payments/save_now.html", context, status=400)
        try:
            tx = services.stk_push_start(user=request.user, amount=amount, challenge=challenge)
        except DarajaError:
            context["error"] = _("M-Pesa could not start the payment. Try again in a minute, or pay by Paybill below.")
            return render(request, "payments/save_now.html", context, status=502)
        return redirect(f"{request.path}?tx={tx.pk}")
    pending_id = query_params_clean(params=request.GET, form_class=PendingTransactionForm)["tx"]
    if pending_id:
        context["pending"] = selectors.transaction_get(user=request.user, pk=pending_id)
        if context["pending"] is not None:
            context["pending_message"] = transaction_message(context["pending"])
            # A cancelled or failed prompt is retried from the form below with the same amount and challenge.
            context["amount"] = f"{context['pending'].amount:.0f}"
            context["selected_challenge"] = context["pending"].challenge_id
    return render(request, "payments/save_now.html", context)


@login_required
@require_GET
def save_status(request, pk: int):
    tx = selectors.transaction_get(user=request.user, pk=pk)
    if tx is None:
        return JsonResponse({"detail": "Not found."}, status=404)
    return JsonResponse({"id": tx.pk, "status": tx.status, "amount": str(tx.amount), "receipt": tx.mpesa_receipt,
                         "message": transaction_message(tx)})


@org_admin_required
@require_GET
@query_params_checked
def manage_transactions(request):
    filters = {k: request.GET.get(k, "").strip() for k in FILTERS}  # as typed, for the form on the page
    cleaned = query_params_clean(params=request.GET, form_class=TransactionFilterForm)
    queryset = selectors.transaction_list(user=request.user, filters=cleaned)
    if cleaned["format"] == "csv":
        response, writer = csv_response(filename="transactions.csv")
        writer.writerow(["id", "created_at", "transacted_at", "member", "phone", "amount", "status", "source",
                         "mpesa_receipt", "bill_ref", "challenge", "result_code", "result_desc"])
        for tx in queryset.iterator(chunk_size=1000):
            writer.writerow([tx.pk, tx.created_at.isoformat(), tx.transacted_at.isoformat() if tx.transacted_at else "",
                             tx.user.display_name if tx.user else "", tx.user.phone_number if tx.user else "",
                             tx.amount, tx.status, tx.source, tx.mpesa_receipt or "", tx.bill_ref_number,
                             tx.challenge.name if tx.challenge else "", tx.result_code, tx.result_desc])
        return response
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "payments/manage_transactions.html", {
        "page": _page(request, queryset, 50), "filters": filters, "statuses": Transaction.Status.choices,
        "sources": Transaction.Source.choices, "querystring": query.urlencode()})


@org_admin_required
@require_http_methods(["GET", "POST"])
def manage_manual_deposits(request):
    """Record a cash or bank deposit for a member; approve or reject one another leader recorded (maker-checker)."""
    import secrets

    from accounts.models import User
    from challenges.models import Challenge

    form = ManualDepositForm(request.POST or None)
    if request.method == "POST" and request.POST.get("action") in ("approve", "reject"):
        raw = request.POST.get("deposit") or ""
        try:
            if not raw.isdigit():
                raise ValidationError(_("Choose a deposit from the list."))
            if request.POST["action"] == "approve":
                row = services.manual_deposit_approve(deposit_id=int(raw), actor=request.user,
                                                      ip_address=client_ip(request))
                messages.success(request, _("KES %(amount)s credited to %(name)s.") % {
                    "amount": f"{row.amount:,.2f}", "name": row.user.display_name})
            else:
                services.manual_deposit_reject(deposit_id=int(raw), actor=request.user,
                                               reason=request.POST.get("reason", ""), ip_address=client_ip(request))
                messages.success(request, _("Deposit rejected; nothing was credited."))
        except (ValidationError, ManualDeposit.DoesNotExist) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
        return redirect("manage-manual-deposits")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        code = data["member"].strip().upper()
        user = User.objects.filter(account_code=code, is_active=True).first()
        challenge = Challenge.objects.filter(pk=data["challenge"]).first() if data.get("challenge") else None
        try:
            if user is None:
                raise ValidationError({"member": _("No member has the account code %(code)s.") % {"code": code}})
            row, created = services.manual_deposit_record(
                request_key=data["request_key"], user=user, amount=data["amount"], paid_on=data["paid_on"],
                method=data["method"], note=data["note"], challenge=challenge, actor=request.user,
                confirm_repeat=data["confirm_repeat"], ip_address=client_ip(request))
        except ValidationError as exc:
            for field, errors in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            if not created:
                messages.info(request, _("That deposit was already recorded."))
            elif row.status == ManualDeposit.Status.CREDITED:
                messages.success(request, _("KES %(amount)s credited to %(name)s. They get a receipt by SMS.") % {
                    "amount": f"{row.amount:,.2f}", "name": user.display_name})
            else:
                messages.success(request, _("Recorded. Another leader must approve it before it is credited."))
            return redirect("manage-manual-deposits")
    if not form.is_bound:
        from tenants.calendar import local_today

        form = ManualDepositForm(initial={"request_key": secrets.token_urlsafe(24), "paid_on": local_today(),
                                          "method": "cash"})
    threshold = MpesaSettings.objects.values_list("cash_second_approval_over", flat=True).first()
    return render(request, "payments/manage_manual_deposits.html", {
        "form": form, "threshold": threshold,
        "pending": selectors.manual_deposits(status=ManualDeposit.Status.PENDING),
        "recent": selectors.manual_deposits(status=None, limit=20),
        "members": User.objects.filter(is_active=True).order_by("name", "phone_number")[:1000],
        "challenges": Challenge.objects.filter(status="active").order_by("name")})


@org_admin_required
@require_http_methods(["GET", "POST"])
def manage_unmatched(request):
    from accounts.models import User
    from challenges.models import Challenge

    if request.method == "POST" and request.POST.get("action") == "release":
        from payments.inbox import callback_quarantine_release

        inbox_id = request.POST.get("inbox") or ""
        released = callback_quarantine_release(inbox_ids=[int(inbox_id)] if inbox_id.isdigit() else [],
                                               actor=request.user, ip_address=client_ip(request))
        if released:
            messages.success(request, _("Callback sent back to be processed again."))
        else:
            messages.error(request, _("That callback is no longer held back."))
        return redirect("manage-unmatched")
    if request.method == "POST" and request.POST.get("action") in ("ignore", "refund", "reopen"):
        return _unmatched_close_or_reopen(request)
    if request.method == "POST":
        code = (request.POST.get("member") or "").strip().upper()
        user = User.objects.filter(account_code=code, is_active=True).first() or (
            User.objects.filter(pk=code, is_active=True).first() if code.isdigit() else None)
        challenge = Challenge.objects.filter(pk=request.POST.get("challenge") or 0).first()
        try:
            tx_id = int(request.POST.get("transaction") or 0)
            if user is None:
                raise ValidationError(_("Choose a member (their account code)."))
            services.transaction_assign(transaction_id=tx_id, user=user, challenge=challenge, actor=request.user,
                                        ip_address=client_ip(request))
        except (ValidationError, Transaction.DoesNotExist, ValueError) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("Payment assigned to %(name)s and credited.") % {"name": user.display_name})
        return redirect("manage-unmatched")
    page = _page(request, selectors.unmatched_list())
    for tx in page.object_list:
        tx.payer_phone = selectors.payer_phone_masked(tx.phone_number)
    return render(request, "payments/manage_unmatched.html", {
        "page": page, "closed": selectors.unmatched_closed(),
        "held_back": selectors.quarantined_callbacks()[:REFUSED_SHOWN],
        "members": User.objects.filter(is_active=True).order_by("name", "phone_number")[:1000],
        "challenges": Challenge.objects.filter(status="active").order_by("name")})


def _unmatched_close_or_reopen(request):
    """Ignore or mark refunded (the queue's other outcomes besides assign), or reopen an ignored one."""
    action = request.POST["action"]
    raw = request.POST.get("transaction") or ""
    try:
        if not raw.isdigit():
            raise ValidationError(_("Choose a payment from the list."))
        if action == "reopen":
            services.unmatched_reopen(transaction_id=int(raw), actor=request.user, ip_address=client_ip(request))
            messages.success(request, _("Payment back in the unmatched queue."))
        else:
            outcome = "ignored" if action == "ignore" else "refunded"
            services.unmatched_close(transaction_id=int(raw), outcome=outcome, note=request.POST.get("note", ""),
                                     actor=request.user, ip_address=client_ip(request))
            messages.success(request, _("Payment marked as ignored.") if outcome == "ignored"
                             else _("Payment marked as refunded to the payer."))
    except (ValidationError, Transaction.DoesNotExist) as exc:
        messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("manage-unmatched")


def _amount_or_none(raw: str) -> Decimal | None:
    """A whole KES amount from a settings form, or None for an empty box."""
    raw = (raw or "").strip().replace(",", "")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationError(_("Give the approval amount in KES, e.g. 5000.")) from None
    if value < 1 or value > Decimal("250000"):
        raise ValidationError(_("Give the approval amount in KES, e.g. 5000."))
    return value.quantize(Decimal("1"))


@org_admin_required
@require_http_methods(["GET", "POST"])
def manage_mpesa(request):
    from payments.daraja import DarajaError

    row = services.mpesa_settings_init()
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action == "register":
                services.c2b_urls_register(actor=request.user, ip_address=client_ip(request))
                messages.success(request, _("Callback URLs registered with Daraja."))
            elif action == "rotate":
                services.mpesa_callback_token_rotate(actor=request.user, ip_address=client_ip(request))
                messages.success(request, _("New callback secret. Register the URLs with Daraja again."))
            else:
                data = {f: request.POST.get(f, "") for f in services.MPESA_EDITABLE_FIELDS if f != "strict_validation"}
                data["strict_validation"] = request.POST.get("strict_validation") == "on"
                data["cash_second_approval_over"] = _amount_or_none(data.get("cash_second_approval_over", ""))
                if data.get("shortcode") and not data["shortcode"].isdigit():
                    raise ValidationError(_("A shortcode is digits only."))
                services.mpesa_settings_update(data=data, actor=request.user, ip_address=client_ip(request))
                messages.success(request, _("M-Pesa settings saved."))
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        except DarajaError as exc:
            messages.error(request, _("Daraja refused: %(reason)s") % {"reason": str(exc)[:200]})
        return redirect("manage-mpesa")
    from django.db import connection

    from payments.platform.selectors import refused_callbacks

    refused = refused_callbacks(organization=connection.tenant)
    return render(request, "payments/manage_mpesa.html", {
        "mpesa": row, "masked": {f: selectors.secret_mask(getattr(row, f)) for f in MpesaSettings.SECRET_FIELDS},
        "urls": selectors.mpesa_callback_urls(organization=connection.tenant),
        "shortcode_types": MpesaSettings.ShortcodeType.choices, "environments": MpesaSettings.Environment.choices,
        "refused": refused[:REFUSED_SHOWN], "refused_count": refused.count()})
