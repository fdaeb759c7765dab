"""Announcements and the knowledge library (DESIGN §2 OA): data and what must always be true.

Who sees what is decided in `querysets.py` (`visible_to`, one SQL query) and mirrored for one
object in Python by the models' `scope_extra_allows`, so `user.has_perm("docs.view_document",
doc)` (apps.org.backends.WeftBackend) and the queryset agree.

Visibility of library items ("everyone / departments / roles / named users"):
- `visibility` is inherit / everyone / restricted. Restricted means: members of the listed
  `departments` (and their sub-departments), holders of the listed `roles`, and the users or roles
  the item is shared with through django-guardian (`apps.org.services.object_share`).
- A folder that inherits takes its parent's rule; a document that inherits takes its folder's.
  `Folder.rule` is the denormalised answer "which folder's rule applies to me" (self when the
  folder sets its own, else the parent's rule, None = everyone at the top), kept in step by the
  folder services, so a document's effective rule is one join away at any depth.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.studio.models import CustomFieldsModel

from .querysets import (
    AnnouncementQuerySet,
    DocumentQuerySet,
    FolderQuerySet,
    announcement_allows,
    document_allows,
    folder_allows,
)


class Audience(models.TextChoices):
    EVERYONE = "everyone", _("Everyone")
    DEPARTMENTS = "departments", _("Departments")
    ROLES = "roles", _("Roles")


class Visibility(models.TextChoices):
    INHERIT = "inherit", _("Same as the folder")
    EVERYONE = "everyone", _("Everyone")
    RESTRICTED = "restricted", _("Only chosen departments, roles and people")


def _stored_name(prefix: str) -> str:
    # Non-guessable storage path; the original name lives in the database only, so nothing a
    # user typed ever becomes part of a path. Files are served by a view that checks access.
    now = timezone.now()
    return f"{prefix}/{now:%Y/%m}/{secrets.token_hex(16)}"


def version_upload_to(instance, filename: str) -> str:
    return _stored_name("docs/versions")


def attachment_upload_to(instance, filename: str) -> str:
    return _stored_name("docs/announcements")


# --- announcements --------------------------------------------------------------------------


class Announcement(models.Model):
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True, help_text=_("Markdown."))
    audience = models.CharField(
        _("audience"), max_length=20, choices=Audience.choices, default=Audience.EVERYONE
    )
    departments = models.ManyToManyField(
        "org.Department",
        verbose_name=_("departments"),
        blank=True,
        related_name="+",
        help_text=_("With their sub-departments."),
    )
    roles = models.ManyToManyField(
        "auth.Group", verbose_name=_("roles"), blank=True, related_name="+"
    )
    pinned = models.BooleanField(_("pinned"), default=False)
    requires_read = models.BooleanField(
        _("requires read"),
        default=False,
        help_text=_("Everyone in the audience should confirm they read it."),
    )
    published_at = models.DateTimeField(
        _("published at"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_("Visible to the audience from this time on. Empty: a draft."),
    )
    publisher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("publisher"),
        on_delete=models.PROTECT,
        related_name="announcements",
    )
    notified_at = models.DateTimeField(_("audience notified at"), null=True, blank=True)
    last_reminded_at = models.DateTimeField(_("last reminder at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # apps.org.scopes: role scopes apply to the publisher; the audience rule is the extra.
    scope_owner_field = "publisher"
    scope_department_field = None

    objects = AnnouncementQuerySet.as_manager()

    class Meta:
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        ordering = ["-pinned", "-published_at", "-id"]
        indexes = [models.Index(fields=["requires_read", "published_at"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("docs:announcement", args=[self.pk])

    @property
    def is_published(self) -> bool:
        return self.published_at is not None and self.published_at <= timezone.now()

    @property
    def is_scheduled(self) -> bool:
        return self.published_at is not None and self.published_at > timezone.now()

    @classmethod
    def scope_extra_q(cls, user, action):
        from .querysets import announcement_audience_q

        # The author always manages their own record; everyone else needs a role or a grant.
        return announcement_audience_q(user) if action == "view" else Q(publisher=user.pk)

    @classmethod
    def scope_extra_allows(cls, user, obj, action):
        if action != "view":
            return obj.publisher_id == user.pk
        return announcement_allows(user, obj)


class AnnouncementAttachment(models.Model):
    announcement = models.ForeignKey(
        Announcement,
        verbose_name=_("announcement"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    file = models.FileField(_("file"), upload_to=attachment_upload_to, max_length=300)
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    content_type = models.CharField(_("content type"), max_length=100)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("docs:announcement-attachment", args=[self.pk])


class AnnouncementRead(models.Model):
    """Read receipt: `user` opened (or confirmed) `announcement` at `read_at`."""

    announcement = models.ForeignKey(
        Announcement, verbose_name=_("announcement"), on_delete=models.CASCADE, related_name="reads"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="announcement_reads",
    )
    read_at = models.DateTimeField(_("read at"), default=timezone.now)

    class Meta:
        verbose_name = _("read receipt")
        verbose_name_plural = _("read receipts")
        constraints = [
            models.UniqueConstraint(fields=["announcement", "user"], name="docs_read_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.announcement}"


class AnnouncementEvent(models.Model):
    class Kind(models.TextChoices):
        PUBLISHED = "published", _("Published")
        UPDATED = "updated", _("Updated")
        REMINDED = "reminded", _("Unread reminded")
        NOTIFIED = "notified", _("Audience notified")

    announcement = models.ForeignKey(
        Announcement,
        verbose_name=_("announcement"),
        on_delete=models.CASCADE,
        related_name="events",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    payload = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("announcement event")
        verbose_name_plural = _("announcement events")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.announcement_id} {self.kind}"


# --- knowledge library ----------------------------------------------------------------------


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Folder(models.Model):
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent folder"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    visibility = models.CharField(
        _("visibility"), max_length=20, choices=Visibility.choices, default=Visibility.INHERIT
    )
    departments = models.ManyToManyField(
        "org.Department", verbose_name=_("departments"), blank=True, related_name="+"
    )
    roles = models.ManyToManyField(
        "auth.Group", verbose_name=_("roles"), blank=True, related_name="+"
    )
    rule = models.ForeignKey(
        "self",
        verbose_name=_("visibility from"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The folder whose visibility applies (itself or an ancestor)."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    scope_owner_field = "owner"
    scope_department_field = None

    objects = FolderQuerySet.as_manager()

    class Meta:
        verbose_name = _("folder")
        verbose_name_plural = _("folders")
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="docs_folder_unique_name"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(parent__isnull=True), name="docs_folder_unique_root"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("docs:library") + f"?folder={self.pk}"

    @classmethod
    def scope_extra_q(cls, user, action):
        from .querysets import folder_audience_q

        # The author always manages their own record; everyone else needs a role or a grant.
        return folder_audience_q(user) if action == "view" else Q(owner=user.pk)

    @classmethod
    def scope_extra_allows(cls, user, obj, action):
        if action != "view":
            return obj.owner_id == user.pk
        return folder_allows(user, obj)


class Document(CustomFieldsModel):
    # Its label everywhere: never restricted by field security (apps.org.fields).
    RECORD_NAME_FIELDS = ("title",)

    folder = models.ForeignKey(
        Folder,
        verbose_name=_("folder"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="documents",
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True, help_text=_("Markdown."))
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="documents")
    visibility = models.CharField(
        _("visibility"), max_length=20, choices=Visibility.choices, default=Visibility.INHERIT
    )
    departments = models.ManyToManyField(
        "org.Department", verbose_name=_("departments"), blank=True, related_name="+"
    )
    roles = models.ManyToManyField(
        "auth.Group", verbose_name=_("roles"), blank=True, related_name="+"
    )
    current_version = models.ForeignKey(
        "DocumentVersion",
        verbose_name=_("current version"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="documents",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    scope_owner_field = "owner"
    scope_department_field = None

    objects = DocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["folder", "-updated_at"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("docs:document", args=[self.pk])

    @classmethod
    def scope_extra_q(cls, user, action):
        from .querysets import document_audience_q

        # The author always manages their own record; everyone else needs a role or a grant.
        return document_audience_q(user) if action == "view" else Q(owner=user.pk)

    @classmethod
    def scope_extra_allows(cls, user, obj, action):
        if action != "view":
            return obj.owner_id == user.pk
        return document_allows(user, obj)


class DocumentVersion(models.Model):
    """One uploaded file of a document; every upload adds a version, old ones stay downloadable."""

    document = models.ForeignKey(
        Document, verbose_name=_("document"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    file = models.FileField(_("file"), upload_to=version_upload_to, max_length=300)
    original_name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    content_type = models.CharField(_("content type"), max_length=100)
    note = models.CharField(_("note"), max_length=300, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("document version")
        verbose_name_plural = _("document versions")
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="docs_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} (v{self.number})"

    def get_absolute_url(self) -> str:
        return reverse("docs:version-download", args=[self.pk])


class DocumentEvent(models.Model):
    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        VERSION = "version", _("New version uploaded")
        MOVED = "moved", _("Moved")
        VISIBILITY = "visibility", _("Visibility changed")

    document = models.ForeignKey(
        Document, verbose_name=_("document"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    payload = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("document event")
        verbose_name_plural = _("document events")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.document_id} {self.kind}"


class FolderEvent(models.Model):
    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        MOVED = "moved", _("Moved")
        VISIBILITY = "visibility", _("Visibility changed")

    folder = models.ForeignKey(
        Folder, verbose_name=_("folder"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    payload = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("folder event")
        verbose_name_plural = _("folder events")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.folder_id} {self.kind}"
