"""/manage/watch/: the organization's suspicious-pattern findings, with a "reviewed" action."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import connection
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from payments.views import org_admin_required
from payments.watch import selectors, services
from payments.watch.models import Finding


@org_admin_required
@require_http_methods(["GET", "POST"])
def manage_findings(request):
    organization = connection.tenant
    if request.method == "POST":
        try:
            services.finding_review(finding_id=int(request.POST.get("finding") or 0), organization=organization,
                                    actor=request.user, note=request.POST.get("note", ""))
        except (Finding.DoesNotExist, ValueError):
            messages.error(request, _("That finding does not exist."))
        else:
            messages.success(request, _("Marked as reviewed."))
        return redirect("manage-findings")
    reviewed = request.GET.get("show") == "reviewed"
    page = Paginator(selectors.findings_for(organization=organization, reviewed=reviewed), 25).get_page(
        request.GET.get("page"))
    return render(request, "payments_watch/manage_findings.html", {
        "page": page, "reviewed": reviewed, "thresholds": services.thresholds_for(organization=organization)})
