"""Notifications API: entry points only (parse, call one service or selector, render)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsMember, IsOrgAdmin
from notifications import content, selectors, services
from notifications.api import serializers as s
from notifications.models import Broadcast


class PushSubscriptionsApi(APIView):
    permission_classes = [IsMember]

    @extend_schema(responses=s.PushConfigSerializer, summary="VAPID public key and this member's device count")
    def get(self, request):
        from notifications.push import vapid_public_key

        return Response({"public_key": vapid_public_key(), "subscriptions": request.user.push_subscriptions.count()})

    @extend_schema(request=s.PushSubscriptionInSerializer, responses={201: s.PushSubscriptionOutSerializer},
                   summary="Register this browser for web push")
    def post(self, request):
        data = s.PushSubscriptionInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.push_subscription_save(
            user=request.user, endpoint=data.validated_data["endpoint"], p256dh=data.validated_data["keys"]["p256dh"],
            auth=data.validated_data["keys"]["auth"], user_agent=request.headers.get("User-Agent", ""))
        return Response(s.PushSubscriptionOutSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.PushSubscriptionInSerializer, responses={204: None}, summary="Unregister this browser")
    def delete(self, request):
        endpoint = str(request.data.get("endpoint", ""))
        services.push_subscription_delete(user=request.user, endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PreferencesApi(APIView):
    permission_classes = [IsMember]

    @extend_schema(responses=s.PreferencesSerializer, summary="My notification preferences")
    def get(self, request):
        return Response(selectors.notification_preferences_get(user=request.user))

    @extend_schema(request=s.PreferencesSerializer, responses=s.PreferencesSerializer, summary="Change my preferences")
    def patch(self, request):
        data = s.PreferencesSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.notification_preferences_update(user=request.user, data=data.validated_data)
        return Response(selectors.notification_preferences_get(user=request.user))


class NotificationListApi(generics.ListAPIView):
    """A member's own messages; all messages for an org admin."""

    permission_classes = [IsMember]
    serializer_class = s.NotificationSerializer

    def get_queryset(self):
        return selectors.notification_list(user=self.request.user)


class TemplateListApi(APIView):
    permission_classes = [IsOrgAdmin]

    @extend_schema(responses=s.TemplateSerializer(many=True), summary="Every template and language in force")
    def get(self, request):
        return Response(selectors.template_list())


class TemplateDetailApi(APIView):
    permission_classes = [IsOrgAdmin]

    def _check(self, key, language):
        if key not in content.PLACEHOLDERS or language not in content.LANGUAGES:
            from rest_framework.exceptions import NotFound

            raise NotFound("No such template.")

    @extend_schema(request=s.TemplateSerializer, responses=s.TemplateSerializer,
                   summary="Save the org's wording (validated: placeholders, at most 3 SMS segments)")
    def put(self, request, key, language):
        self._check(key, language)
        data = s.TemplateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.notification_template_save(actor=request.user, key=key, language=language, **data.validated_data)
        return Response(selectors.template_describe(key=key, language=language, **data.validated_data) | {"customized": True})

    @extend_schema(request=None, responses={204: None}, summary="Back to the default wording")
    def delete(self, request, key, language):
        self._check(key, language)
        services.notification_template_reset(actor=request.user, key=key, language=language)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TemplatePreviewApi(APIView):
    permission_classes = [IsOrgAdmin]

    @extend_schema(request=s.TemplateSerializer, responses=s.TemplateSerializer,
                   summary="Segments, encoding and cost of a wording, before saving")
    def post(self, request, key, language):
        TemplateDetailApi()._check(key, language)
        data = s.TemplateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.notification_template_validate(key=key, **data.validated_data)
        return Response(selectors.template_describe(key=key, language=language, **data.validated_data) | {"customized": False})


class SmsSettingsApi(APIView):
    permission_classes = [IsOrgAdmin]

    def _out(self):
        return selectors.sms_settings_get() | {"delivery_report_url": selectors.delivery_report_path()}

    @extend_schema(responses=s.SmsSettingsSerializer, summary="Africa's Talking settings (API key masked)")
    def get(self, request):
        return Response(self._out())

    @extend_schema(request=s.SmsSettingsSerializer, responses=s.SmsSettingsSerializer, summary="Update SMS settings")
    def patch(self, request):
        data = s.SmsSettingsSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.sms_settings_update(actor=request.user, data=data.validated_data)
        return Response(self._out())


class BroadcastPreviewApi(APIView):
    permission_classes = [IsOrgAdmin]

    @extend_schema(request=s.BroadcastInSerializer, responses=s.BroadcastPreviewSerializer,
                   summary="Preview, recipient count and cost estimate of an announcement")
    def post(self, request):
        data = s.BroadcastInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        preview = selectors.broadcast_preview(message=v["message"], audience=v["audience"], challenge_id=v.get("challenge"))
        return Response(s.BroadcastPreviewSerializer(preview).data)


class BroadcastCreateApi(APIView):
    permission_classes = [IsOrgAdmin]

    @extend_schema(request=s.BroadcastInSerializer, responses={202: s.BroadcastProgressSerializer},
                   summary="Send an announcement (fans out in batches; poll its progress)")
    def post(self, request):
        data = s.BroadcastInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        row = services.broadcast_create(actor=request.user, message=v["message"], audience=v["audience"],
                                        challenge_id=v.get("challenge"))
        return Response(selectors.broadcast_progress(broadcast=row), status=status.HTTP_202_ACCEPTED)


class BroadcastDetailApi(APIView):
    permission_classes = [IsOrgAdmin]

    @extend_schema(responses=s.BroadcastProgressSerializer, summary="Progress of an announcement")
    def get(self, request, pk):
        return Response(selectors.broadcast_progress(broadcast=get_object_or_404(Broadcast, pk=pk)))
