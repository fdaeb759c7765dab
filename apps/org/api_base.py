"""What every Weft API endpoint shares: pagination, the error shape, permission and field security.

Domain apps build their viewsets on `ScopedModelViewSet` and their serializers on
`FieldSecuredSerializerMixin` (studio's `CustomFieldsSerializerMixin` includes it), so scope,
object grants and field security are enforced the same way everywhere.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
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
        if getattr(view, "detail", False):
            # One record: `has_object_permission` decides with the whole rule, so a guardian
            # grant on that record is enough without the model permission.
            return True
        return super().has_permission(request, view)

    def get_required_object_permissions(self, method, model_cls):
        # A per-record action (POST {id}/claim/, /submit/, /share/ …) changes that record:
        # it needs the change permission on it, not the model's add permission. An action
        # that needs more checks it in its service.
        if method == "POST":
            method = "PATCH"
        return super().get_required_object_permissions(method, model_cls)


class FieldSecuredSerializerMixin:
    """Hides fields the caller may not see and refuses writes to fields they may not change.

    The caller's access is computed per object (a guardian grant on one record can open a
    field); lists stay query-free per row because the viewset pre-fetches the grants.
    """

    # Lazy: a class attribute is evaluated once, at import, in whatever language was active.
    refused_message = gettext_lazy("You are not allowed to change this field.")

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
        return self.hide_fields(data, self.field_access(instance))

    # Output keys derived from one model field ("owner_name", "body_html", "status_display"):
    # hidden with the field they are computed from.
    DERIVED_SUFFIXES = ("_name", "_display", "_html")

    @classmethod
    def hide_fields(cls, data, access: FieldAccess):
        if access.hidden:
            for name in list(data):
                base = next(
                    (name.removesuffix(s) for s in cls.DERIVED_SUFFIXES if name.endswith(s)), None
                )
                if not access.can_view(name) or (base and not access.can_view(base)):
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


class PrototypeListSerializer(serializers.ListSerializer):
    """Renders a list through one prototype child built once per process (see
    `SharedFieldsMixin`), then hides fields per row with the caller's field access."""

    def to_representation(self, data):
        from django.db.models.manager import BaseManager

        items = data.all() if isinstance(data, BaseManager) else data
        child = self.child
        proto = type(child).read_prototype()
        # A grant on one record can only open fields the model-wide access hides: when that
        # hides nothing, no row needs its own check (one policy look-up per list, not per row).
        per_row = bool(child.field_access(None).hidden)
        out = []
        for item in items:
            row = proto.to_representation(item)  # no request: nothing hidden yet
            out.append(child.hide_fields(row, child.field_access(item)) if per_row else row)
        return out


class SharedFieldsMixin:
    """Lists of this serializer don't build and bind ~30 fields per request (≈ 7–13 ms of a
    list page): a prototype instance, built once per process, renders every row.

    Only for serializers whose reading doesn't depend on the request: no method fields or
    hyperlinks that read `self.context`. Field security still applies per row and per
    caller (`FieldSecuredSerializerMixin.hide_fields`); writes and single records use the
    ordinary per-request instance. Use with `Meta.list_serializer_class =
    PrototypeListSerializer`.
    """

    @classmethod
    def read_prototype(cls):
        proto = cls.__dict__.get("_weft_read_prototype")
        if proto is None:
            proto = cls(context={})
            proto.fields  # noqa: B018 - build and bind once
            cls._weft_read_prototype = proto
        return proto


class HiddenFieldQueryGuard:
    """Refuses `?<field>=`, `?ordering=<field>` on fields the caller may not see (400 naming
    them): a filter or a sort order on a hidden field tells its values. For viewsets of models
    without data scopes (products); `ScopedQuerysetMixin` includes it."""

    model = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._refuse_hidden_query_params(request)

    def _refuse_hidden_query_params(self, request):
        if self.model is None:
            return
        access = field_access(request.user, self.model)
        if not access.hidden:
            return

        def field_of(key: str) -> str:
            # "secret__icontains" -> "secret"; custom keys: "custom__salary__gte" -> "salary".
            parts = key.split("__")
            return parts[1] if parts[0] == "custom" and len(parts) > 1 else parts[0]

        names = set()
        for key in request.query_params:
            names.add(field_of(key))
        for value in request.query_params.getlist("ordering"):
            for part in value.split(","):
                names.add(field_of(part.strip().lstrip("-")))
        refused = sorted(n for n in names if not access.can_view(n))
        if refused:
            raise exceptions.ValidationError(
                {n: [_("You are not allowed to filter or sort by this field.")] for n in refused}
            )


class ScopedQuerysetMixin(HiddenFieldQueryGuard):
    """`get_queryset` = the model's rows visible to the caller; refuses filters on hidden fields."""

    model = None
    ordering_fields: list[str] = []

    def base_queryset(self):
        return self.model.objects.all()

    def get_queryset(self):
        # The rows the caller may see. Whether they may change or delete one of them is the
        # object permission check's answer (403); a row they cannot see is a 404 (DESIGN §4.1).
        return self.base_queryset().visible_to(self.request.user)

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
        object_share(
            obj=obj,
            by=request.user,
            to_user=data.get("to_user"),
            to_group=data.get("to_group"),
            action=data["action"],
        )
        return Response({"shared": True})

    @action(detail=True, methods=["post"])
    def unshare(self, request, pk=None):
        from .services import object_unshare

        obj = self.get_object()
        data = self._share_target(request)
        object_unshare(
            obj=obj, by=request.user, to_user=data.get("to_user"), to_group=data.get("to_group")
        )
        return Response({"shared": False})
