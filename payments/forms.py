"""Query-parameter forms for the ledger's pages and API (savegame/queryparams.py)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from payments.models import Transaction
from savegame.queryparams import choice_param, id_param, text_param


class TransactionFilterForm(forms.Form):
    status = choice_param(Transaction.Status.choices)
    source = choice_param(Transaction.Source.choices)
    member = id_param()
    challenge = id_param()
    date_from = forms.DateField(required=False)
    date_to = forms.DateField(required=False)
    q = text_param(max_length=100)
    format = choice_param([("csv", "csv")])


class PendingTransactionForm(forms.Form):
    tx = id_param()


class ManualDepositForm(forms.Form):
    """A leader's record of a cash or bank deposit (payments.services.manual_deposit_record checks the rest)."""

    request_key = forms.CharField(max_length=64, widget=forms.HiddenInput)
    member = forms.CharField(max_length=20, label=_("Member (account code)"))
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=1, label=_("Amount (KES)"))
    paid_on = forms.DateField(label=_("Day it was paid"), widget=forms.DateInput(attrs={"type": "date"}))
    method = forms.ChoiceField(choices=[("cash", _("Cash")), ("bank", _("Bank"))], label=_("Paid by"))
    challenge = forms.IntegerField(required=False, min_value=1, label=_("Challenge"))
    note = forms.CharField(max_length=200, required=False, label=_("Note (e.g. the meeting)"))
    confirm_repeat = forms.BooleanField(required=False, label=_("Yes, this is a second deposit"))
