"""A Record endpoint built the way domain apps build theirs (scoped viewset, custom fields)."""

import django_filters
from rest_framework import serializers
from rest_framework.routers import DefaultRouter

from apps.org.api_base import ScopedModelViewSet, ShareActionsMixin
from apps.studio.filters import CustomFieldsFilterSetMixin
from apps.studio.serializers import CustomFieldsSerializerMixin

from .models import Record


class RecordSerializer(CustomFieldsSerializerMixin, serializers.ModelSerializer):
    class Meta:
        model = Record
        fields = ["id", "owner", "department", "title", "amount", "secret", "custom"]
        read_only_fields = ["owner"]


class RecordFilter(CustomFieldsFilterSetMixin, django_filters.FilterSet):
    class Meta:
        model = Record
        fields = ["title", "department", "secret"]


class RecordViewSet(ShareActionsMixin, ScopedModelViewSet):
    model = Record
    serializer_class = RecordSerializer
    filterset_class = RecordFilter
    search_fields = ["title", "secret"]
    ordering_fields = ["id", "title", "amount", "secret"]
    ordering = ["id"]

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)


router = DefaultRouter()
router.register("records", RecordViewSet, basename="record")
