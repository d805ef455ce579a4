"""Africa's Talking's feature-phone callbacks, on the platform host (savegame/urls_public.py)."""

from django.urls import path

from ussd import views

urlpatterns = [
    path("hooks/ussd/", views.ussd_callback, name="ussd-callback"),
    path("hooks/sms/inbound/", views.sms_inbound, name="sms-inbound"),
]
