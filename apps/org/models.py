"""People and structure: users, the department tree, data scopes per role, field policies.

Roles are plain `auth.Group` rows. What a role may do is (1) its model permissions, (2) its
`RoleScope` per model (which rows), (3) object grants through django-guardian, and (4) field
permissions created from `FieldPolicy` rows. `apps.org.scopes` and `apps.org.fields` read them.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Department(models.Model):
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    head = models.ForeignKey(
        "org.User",
        verbose_name=_("head"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="headed_departments",
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="org_department_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # A department can't sit below itself: walk up from the new parent.
        node, seen = self.parent, set()
        while node is not None:
            if node.pk == self.pk and self.pk is not None:
                raise ValidationError({"parent": _("A department cannot be placed below itself.")})
            if node.pk in seen:
                break
            seen.add(node.pk)
            node = node.parent


class User(AbstractUser):
    class Language(models.TextChoices):
        ZH_HANS = "zh-hans", "简体中文"
        EN = "en", "English"

    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    mobile = models.CharField(_("mobile"), max_length=30, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    manager = models.ForeignKey(
        "self",
        verbose_name=_("direct manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
    )
    dingtalk_userid = models.CharField(_("DingTalk user id"), max_length=64, blank=True)
    wecom_userid = models.CharField(_("WeCom user id"), max_length=64, blank=True)
    language = models.CharField(
        _("preferred language"), max_length=10, choices=Language.choices, blank=True
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def clean(self) -> None:
        super().clean()
        node, seen = self.manager, set()
        while node is not None and node.pk not in seen:
            if self.pk is not None and node.pk == self.pk:
                raise ValidationError({"manager": _("A user cannot be their own manager.")})
            seen.add(node.pk)
            node = node.manager

    @property
    def name(self) -> str:
        return str(self)


class Scope(models.TextChoices):
    OWN = "own", _("Own records")
    DEPARTMENT = "department", _("Own department")
    TREE = "tree", _("Department and sub-departments")
    ALL = "all", _("All records")


class RoleScope(models.Model):
    """Which rows of one model the members of one role see. The widest of a user's roles wins."""

    role = models.ForeignKey(
        Group, verbose_name=_("role"), on_delete=models.CASCADE, related_name="scopes"
    )
    content_type = models.ForeignKey(
        ContentType, verbose_name=_("model"), on_delete=models.CASCADE, related_name="+"
    )
    scope = models.CharField(_("data scope"), max_length=20, choices=Scope.choices)

    class Meta:
        verbose_name = _("data scope")
        verbose_name_plural = _("data scopes")
        constraints = [
            models.UniqueConstraint(fields=["role", "content_type"], name="org_rolescope_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.role} · {self.content_type.name}: {self.get_scope_display()}"


class FieldPolicy(models.Model):
    """Marks one field of a model (built-in or custom key) as restricted for view and/or change.

    Saving a policy creates the Django permissions `view_<model>__<field>` and
    `change_<model>__<field>`; granting them to a role (or, for one record, to a user
    through guardian) is what lets someone see or edit the field.
    """

    content_type = models.ForeignKey(
        ContentType, verbose_name=_("model"), on_delete=models.CASCADE, related_name="+"
    )
    field_name = models.CharField(
        _("field"), max_length=60, help_text=_("Built-in field name or custom field key.")
    )
    restrict_view = models.BooleanField(
        _("restrict viewing"),
        default=True,
        help_text=_("Only holders of the view permission see the field."),
    )
    restrict_change = models.BooleanField(
        _("restrict editing"),
        default=True,
        help_text=_("Only holders of the change permission may edit the field."),
    )

    class Meta:
        verbose_name = _("field policy")
        verbose_name_plural = _("field policies")
        ordering = ["content_type_id", "field_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "field_name"], name="org_fieldpolicy_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.content_type.model}.{self.field_name}"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        _policies_changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        _policies_changed()
        return result

    def codename(self, action: str) -> str:
        return field_codename(action, self.content_type.model, self.field_name)

    def permission(self, action: str) -> Permission | None:
        return Permission.objects.filter(
            content_type=self.content_type, codename=self.codename(action)
        ).first()


def field_codename(action: str, model_name: str, field_name: str) -> str:
    return f"{action}_{model_name}__{field_name}"


def _policies_changed() -> None:
    # Cache invalidation, not workflow: policies are cached per process and in the shared cache.
    # Bump now (readers in this transaction) and after commit (readers that cached meanwhile).
    from django.db import transaction

    from .fields import policies_changed

    policies_changed()
    transaction.on_commit(policies_changed)


class Heartbeat(models.Model):
    """Last sign of life of a background process (worker, beat), for the health endpoint."""

    name = models.CharField(_("process"), max_length=50, primary_key=True)
    at = models.DateTimeField(_("last seen"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.name} · {self.at:%Y-%m-%d %H:%M:%S}"
