"""Two scoped models: `Record` (own department FK, custom fields) and `Note` (department
through its owner)."""

from django.conf import settings
from django.db import models

from apps.org.scopes import ScopedQuerySet
from apps.studio.models import CustomFieldsModel


class Record(CustomFieldsModel):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(
        "org.Department", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField("title", max_length=100)
    amount = models.DecimalField("amount", max_digits=12, decimal_places=2, null=True, blank=True)
    secret = models.TextField("secret", blank=True)

    scope_owner_field = "owner"
    scope_department_field = "department"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title


class Note(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.CharField("text", max_length=100)

    scope_owner_field = "owner"
    scope_department_field = None
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.text
