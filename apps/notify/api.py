"""API: notifications/ — the caller's own notifications; POST {id}/read/ and read-all/."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from . import services
from .selectors import notification_list


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        from .models import Notification

        model = Notification
        fields = ["id", "verb", "message", "url", "created_at", "read_at"]
        read_only_fields = fields


class NotificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = NotificationSerializer
    filterset_fields = ["verb"]
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            from .models import Notification

            return Notification.objects.none()
        unread = self.request.query_params.get("unread") in ("1", "true")
        return notification_list(user=self.request.user, unread_only=unread)

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        n = services.notification_mark_read(notification=self.get_object(), by=request.user)
        return Response(self.get_serializer(n).data)

    @extend_schema(request=None, responses={200: {"type": "object"}})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        count = services.notifications_mark_all_read(by=request.user)
        return Response({"marked": count})


def register(router) -> None:
    router.register("notifications", NotificationViewSet, basename="notification")
    register_webhooks(router)


# --- webhooks (staff only) --------------------------------------------------------------------
class _IsStaff(permissions.BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    class Meta:
        from .models import WebhookSubscription

        model = WebhookSubscription
        fields = [
            "id",
            "name",
            "url",
            "secret",
            "events",
            "active",
            "max_failures",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
            "created_at",
        ]
        read_only_fields = ["consecutive_failures", "disabled_at", "disabled_reason", "created_at"]
        extra_kwargs = {"secret": {"write_only": True, "required": False}}

    def validate(self, attrs):
        from django.core.exceptions import ValidationError as DjangoValidationError

        from .models import WebhookSubscription

        probe = WebhookSubscription(**{**self._current(), **attrs})
        try:
            probe.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs

    def _current(self) -> dict:
        if self.instance is None:
            return {}
        return {"events": self.instance.events, "url": self.instance.url}


class WebhookSubscriptionViewSet(viewsets.ModelViewSet):
    serializer_class = WebhookSubscriptionSerializer
    permission_classes = [_IsStaff]
    filterset_fields = ["active"]
    ordering = ["name"]

    def get_queryset(self):
        from .models import WebhookSubscription

        return WebhookSubscription.objects.all()

    @transaction.atomic
    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)

    @transaction.atomic
    def perform_update(self, serializer):
        serializer.save()


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        from .models import WebhookDelivery

        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "url",
            "event",
            "payload",
            "idempotency_key",
            "status",
            "attempts",
            "response_code",
            "response_body",
            "error",
            "created_at",
            "last_attempt_at",
            "sent_at",
        ]
        read_only_fields = fields


class WebhookDeliveryViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = WebhookDeliverySerializer
    permission_classes = [_IsStaff]
    filterset_fields = ["subscription", "status", "event"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        from .models import WebhookDelivery

        return WebhookDelivery.objects.all()

    @extend_schema(request=None, responses=WebhookDeliverySerializer)
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        from .webhooks import delivery_resend

        delivery = self.get_object()
        with transaction.atomic():
            delivery_resend(delivery=delivery)
        delivery.refresh_from_db()
        return Response(self.get_serializer(delivery).data)


def register_webhooks(router) -> None:
    router.register("webhook-subscriptions", WebhookSubscriptionViewSet, basename="webhook-sub")
    router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
