"""Query-parameter forms for the ledger's pages and API (savegame/queryparams.py)."""

from __future__ import annotations

from django import forms

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
