"""API: users/ and departments/ (read-only directory, per DESIGN §5)."""

from __future__ import annotations

from django_filters import rest_framework as filters
from rest_framework import serializers, viewsets

from .models import Department, User


class UserSerializer(serializers.ModelSerializer):
    display_name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "display_name",
            "department",
            "manager",
            "title",
            "email",
            "mobile",
            "is_active",
        ]

    def get_display_name(self, obj: User) -> str:
        return str(obj)


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "name", "parent", "head", "order"]


class UserFilter(filters.FilterSet):
    class Meta:
        model = User
        fields = ["department", "manager", "is_active"]


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    """Colleagues: every signed-in user may read the company directory."""

    serializer_class = UserSerializer
    filterset_class = UserFilter
    search_fields = ["username", "display_name", "first_name", "last_name", "email", "mobile"]
    ordering_fields = ["id", "username", "display_name", "date_joined"]
    ordering = ["id"]

    def get_queryset(self):
        return User.objects.select_related("department")


class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DepartmentSerializer
    filterset_fields = ["parent"]
    search_fields = ["name"]
    ordering_fields = ["id", "name", "order"]
    ordering = ["order", "id"]
    queryset = Department.objects.all()


def register(router) -> None:
    router.register("users", UserViewSet, basename="user")
    router.register("departments", DepartmentViewSet, basename="department")
