"""API: notifications/ — the caller's own notifications; POST {id}/read/ and read-all/."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
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
