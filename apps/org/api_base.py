"""What every Weft API endpoint shares: pagination, the error shape, permission and field security.

Domain apps build their viewsets on `ScopedModelViewSet` and their serializers on
`FieldSecuredSerializerMixin` (studio's `CustomFieldsSerializerMixin` includes it), so scope,
object grants and field security are enforced the same way everywhere.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .fields import FieldAccess, field_access
from .scopes import prefetch_grants


class WeftModelPermissions(permissions.DjangoObjectPermissions):
    """Model permission for the action, then `user.has_perm(perm, obj)` (scope + grants).

    Reads need the view permission too. Objects outside the caller's scope never get here:
    the queryset is already `visible_to(user)`, so they are 404.
    """

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS and getattr(view, "detail", False):
            # Reading one shared record needs no model-wide permission: the grant is enough.
            return True
        return super().has_permission(request, view)


class FieldSecuredSerializerMixin:
    """Hides fields the caller may not see and refuses writes to fields they may not change.

    The caller's access is computed per object (a guardian grant on one record can open a
    field); lists stay query-free per row because the viewset pre-fetches the grants.
    """

    refused_message = _("You are not allowed to change this field.")

    def _user(self):
        request = self.context.get("request")
        return getattr(request, "user", None)

    def field_access(self, instance=None) -> FieldAccess:
        user = self._user()
        model = self.Meta.model
        if user is None:
            from .fields import FULL_ACCESS

            return FULL_ACCESS
        return field_access(user, model, instance)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        access = self.field_access(instance)
        if access.hidden:
            for name in list(data):
                if not access.can_view(name):
                    del data[name]
            if isinstance(data.get("custom"), dict):
                data["custom"] = {k: v for k, v in data["custom"].items() if access.can_view(k)}
        return data

    def to_internal_value(self, data):
        instance = self.instance if not isinstance(self.instance, list | tuple) else None
        access = self.field_access(instance)
        if access.hidden or access.readonly:
            keys = list(data.keys()) if hasattr(data, "keys") else []
            names = [k for k in keys if k in self.fields and not self.fields[k].read_only]
            refused: dict = {n: [self.refused_message] for n in access.refused_writes(names)}
            custom = data.get("custom") if hasattr(data, "get") else None
            if isinstance(custom, dict):
                refused_custom = access.refused_writes(custom.keys())
                if refused_custom:
                    refused["custom"] = {n: [self.refused_message] for n in refused_custom}
            if refused:
                raise serializers.ValidationError(refused)
        return super().to_internal_value(data)


class ScopedQuerysetMixin:
    """`get_queryset` = the model's rows visible to the caller; refuses filters on hidden fields."""

    model = None
    ordering_fields: list[str] = []

    def base_queryset(self):
        return self.model.objects.all()

    def get_queryset(self):
        action = "view" if self.request.method in permissions.SAFE_METHODS else "change"
        if getattr(self, "action", None) == "create":
            action = "view"
        return self.base_queryset().visible_to(self.request.user, action)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._refuse_hidden_query_params(request)

    def _refuse_hidden_query_params(self, request):
        if self.model is None:
            return
        access = field_access(request.user, self.model)
        if not access.hidden:
            return
        names = set()
        for key in request.query_params:
            names.add(key.split("__")[0])
        for value in request.query_params.getlist("ordering"):
            for part in value.split(","):
                names.add(part.strip().lstrip("-").split("__")[0])
        refused = sorted(n for n in names if not access.can_view(n))
        if refused:
            raise exceptions.ValidationError(
                {n: [_("You are not allowed to filter or sort by this field.")] for n in refused}
            )

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            prefetch_grants(self.request.user, page)
        return page


class ScopedModelViewSet(ScopedQuerysetMixin, viewsets.ModelViewSet):
    permission_classes = [WeftModelPermissions]


class ScopedReadOnlyViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [WeftModelPermissions]


class ShareSerializer(serializers.Serializer):
    user = serializers.IntegerField(required=False)
    role = serializers.IntegerField(required=False)
    action = serializers.ChoiceField(choices=["view", "change"], default="view")

    def validate(self, attrs):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        if ("user" in attrs) == ("role" in attrs):
            raise serializers.ValidationError({"detail": [_("Give either a user or a role.")]})
        if "user" in attrs:
            user = get_user_model().objects.filter(pk=attrs["user"], is_active=True).first()
            if user is None:
                raise serializers.ValidationError({"user": [_("No such active user.")]})
            attrs["to_user"] = user
        else:
            group = Group.objects.filter(pk=attrs["role"]).first()
            if group is None:
                raise serializers.ValidationError({"role": [_("No such role.")]})
            attrs["to_group"] = group
        return attrs


class ShareActionsMixin:
    """`POST {id}/share/ {"user": id | "role": id, "action": "view"|"change"}` and `unshare/`.

    Add to a ScopedModelViewSet; only someone who may change the record may share it.
    """

    def _share_target(self, request):
        ser = ShareSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return ser.validated_data

    @action(detail=True, methods=["post"])
    def share(self, request, pk=None):
        from .services import object_share

        obj = self.get_object()
        data = self._share_target(request)
        object_share(obj=obj, by=request.user, to_user=data.get("to_user"),
                     to_group=data.get("to_group"), action=data["action"])
        return Response({"shared": True})

    @action(detail=True, methods=["post"])
    def unshare(self, request, pk=None):
        from .services import object_unshare

        obj = self.get_object()
        data = self._share_target(request)
        object_unshare(obj=obj, by=request.user, to_user=data.get("to_user"),
                       to_group=data.get("to_group"))
        return Response({"shared": False})
