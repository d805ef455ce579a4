"""payments pages (filled in below)."""
from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("todo")


transaction_list = save_now = save_status = manage_transactions = manage_unmatched = manage_mpesa = _todo
