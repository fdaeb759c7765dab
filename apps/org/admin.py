"""Admin: users, the department tree, roles with their data scopes and field permissions."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from . import fields as field_security
from . import services
from .errors import ServiceError
from .models import Department, FieldPolicy, RoleScope, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = [
        "username",
        "display_name",
        "department",
        "manager",
        "title",
        "is_active",
        "is_staff",
        "roles",
    ]
    list_filter = ["is_active", "is_staff", "is_superuser", "department", "groups"]
    search_fields = ["username", "display_name", "first_name", "last_name", "email", "mobile"]
    list_select_related = ["department", "manager"]
    autocomplete_fields = ["department", "manager"]
    actions = ["deactivate_users"]

    @admin.action(description=_("Deactivate and sign out everywhere"))
    def deactivate_users(self, request, queryset):
        from .errors import ServiceError
        from .services import user_deactivate

        done = 0
        for user in queryset:
            try:
                user_deactivate(user=user, by=request.user)
                done += 1
            except ServiceError as exc:
                self.message_user(request, f"{user}: {exc}", level="error")
        self.message_user(
            request, _("%(count)d account(s) deactivated and signed out.") % {"count": done}
        )

    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            _("Person"),
            {
                "fields": (
                    "display_name",
                    "first_name",
                    "last_name",
                    "email",
                    "mobile",
                    "title",
                    "language",
                )
            },
        ),
        (_("Organisation"), {"fields": ("department", "manager", "groups")}),
        (_("Integrations"), {"fields": ("dingtalk_userid", "wecom_userid")}),
        (
            _("Access"),
            {
                "fields": ("is_active", "is_staff", "is_superuser", "user_permissions"),
                "classes": ["collapse"],
            },
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined"), "classes": ["collapse"]}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "display_name",
                    "department",
                    "manager",
                    "groups",
                    "password1",
                    "password2",
                ),
            },
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def roles(self, obj: User) -> str:
        return ", ".join(g.name for g in obj.groups.all())


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["tree_name", "head", "order", "member_count"]
    search_fields = ["name"]
    autocomplete_fields = ["parent", "head"]
    list_select_related = ["head"]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(_members=Count("members"))

    def changelist_view(self, request, extra_context=None):
        from .selectors import department_tree

        self._depths = {d.pk: depth for d, depth in department_tree()}
        return super().changelist_view(request, extra_context)

    def get_ordering(self, request):
        return ["order", "name"]

    @admin.display(description=_("name"))
    def tree_name(self, obj: Department) -> str:
        depth = getattr(self, "_depths", {}).get(obj.pk, 0)
        return format_html("{}{}", "— " * depth, obj.name)

    @admin.display(description=_("members"), ordering="_members")
    def member_count(self, obj) -> int:
        return obj._members


class RoleScopeInline(admin.TabularInline):
    model = RoleScope
    extra = 1
    verbose_name = _("data scope")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "content_type":
            kwargs["queryset"] = ContentType.objects.filter(
                pk__in=[ContentType.objects.get_for_model(m).pk for m in scoped_models()]
            ).order_by("app_label", "model")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def scoped_models():
    from django.apps import apps

    return [m for m in apps.get_models() if hasattr(m, "scope_owner_field")]


class RoleForm(forms.ModelForm):
    field_permissions = forms.ModelMultipleChoiceField(
        queryset=Permission.objects.none(),
        required=False,
        widget=admin.widgets.FilteredSelectMultiple(_("field permissions"), False),
        label=_("Field permissions"),
        help_text=_("Restricted fields (see Field policies) this role may see or edit."),
    )

    class Meta:
        model = Group
        fields = ["name", "permissions"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field_perms = Permission.objects.filter(codename__contains="__").select_related(
            "content_type"
        )
        self.fields["field_permissions"].queryset = field_perms
        self.fields["permissions"].queryset = Permission.objects.exclude(
            codename__contains="__"
        ).select_related("content_type")
        if self.instance.pk:
            self.fields["field_permissions"].initial = self.instance.permissions.filter(
                codename__contains="__"
            )

    def _save_m2m(self):
        super()._save_m2m()
        self.instance.permissions.add(*self.cleaned_data["field_permissions"])


admin.site.unregister(Group)


@admin.register(Group)
class RoleAdmin(BaseGroupAdmin):
    form = RoleForm
    inlines = [RoleScopeInline]
    list_display = ["name", "member_count", "scope_summary"]

    def get_queryset(self, request):
        from django.db.models import Count

        return (
            super()
            .get_queryset(request)
            .annotate(_members=Count("user", distinct=True))
            .prefetch_related("scopes__content_type")
        )

    @admin.display(description=_("members"), ordering="_members")
    def member_count(self, obj) -> int:
        return obj._members

    @admin.display(description=_("data scopes"))
    def scope_summary(self, obj) -> str:
        return "; ".join(
            f"{s.content_type.name}: {s.get_scope_display()}" for s in obj.scopes.all()
        )


class FieldPolicyForm(forms.ModelForm):
    class Meta:
        model = FieldPolicy
        fields = ["content_type", "field_name", "restrict_view", "restrict_change"]
        help_texts = {
            "field_name": _(
                "Built-in field name or custom field key. A record's name (a customer's or "
                "contact's name, a contract's or quote's number and title, a ticket's, task's or "
                "document's title…) is shown wherever the record is and cannot be restricted."
            )
        }

    def clean(self):
        cleaned = super().clean()
        ct, name = cleaned.get("content_type"), cleaned.get("field_name")
        if ct and name:
            model = ct.model_class()
            names = {n for n, _label in field_security.securable_fields(model)} if model else set()
            if model and name in field_security.record_name_fields(model):
                raise ValidationError(
                    {
                        "field_name": _(
                            "%(field)s names the record: it is shown wherever the record is "
                            "and cannot be restricted."
                        )
                        % {"field": name}
                    }
                )
            if name not in names:
                raise ValidationError(
                    {
                        "field_name": _("This model has no such field. Choose one of: %(names)s")
                        % {"names": ", ".join(sorted(names))}
                    }
                )
        return cleaned


@admin.register(FieldPolicy)
class FieldPolicyAdmin(admin.ModelAdmin):
    form = FieldPolicyForm
    list_display = ["__str__", "restrict_view", "restrict_change", "holders"]
    list_filter = ["content_type", "restrict_view", "restrict_change"]
    list_select_related = ["content_type"]

    def save_model(self, request, obj, form, change):
        try:
            services.field_policy_save(policy=obj, by=request.user)
        except ServiceError as exc:  # the form checked already; keep the admin from a 500
            self.message_user(request, str(exc), level="error")

    def delete_model(self, request, obj):
        services.field_policy_delete(policy=obj, by=request.user)

    def changelist_view(self, request, extra_context=None):
        # One query for the whole column instead of one per row.
        self._holders: dict[tuple[int, str], set[str]] = {}
        for ct_id, code, name in Group.objects.filter(
            permissions__codename__contains="__"
        ).values_list("permissions__content_type_id", "permissions__codename", "name"):
            self._holders.setdefault((ct_id, code), set()).add(name)
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("roles holding it"))
    def holders(self, obj) -> str:
        found = getattr(self, "_holders", {})
        names = set()
        for action in ("view", "change"):
            names |= found.get((obj.content_type_id, obj.codename(action)), set())
        return ", ".join(sorted(names)) or "—"
