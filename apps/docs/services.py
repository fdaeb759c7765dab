"""Every write of announcements and the library: atomic, permission-checked, with event rows.

Views, API viewsets, the admin and the demo seeder all call these functions, so a rule (who may
publish, the hourly reminder limit, upload checks, folder-rule inheritance) lives here only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, get_users_with_perms, remove_perm

from apps.notify import send as notify_send
from apps.org.errors import ServiceError
from apps.org.models import Department, User
from apps.org.scopes import clear_caches
from apps.org.storage import remove_stored
from apps.studio.validation import validate_custom_or_raise

from . import selectors
from .models import (
    Announcement,
    AnnouncementAttachment,
    AnnouncementEvent,
    AnnouncementRead,
    Audience,
    Document,
    DocumentEvent,
    DocumentVersion,
    Folder,
    FolderEvent,
    Tag,
    Visibility,
)
from .uploads import check_upload, delete_stored

REMIND_INTERVAL = timedelta(hours=1)
MAX_TAGS = 20

# --- permissions (one place; views and the API ask these too) --------------------------------


def can_publish(user) -> bool:
    return user.is_authenticated and user.has_perm("docs.add_announcement")


def can_manage_announcement(user, announcement: Announcement) -> bool:
    """Edit, see read receipts, remind: the publisher, or change permission on it."""
    return user.is_authenticated and user.has_perm("docs.change_announcement", announcement)


def can_change(user, obj) -> bool:
    """Folder or document: the owner, a role with change permission in scope, or a grant."""
    opts = obj._meta
    return user.is_authenticated and user.has_perm(
        f"{opts.app_label}.change_{opts.model_name}", obj
    )


def can_delete(user, obj) -> bool:
    opts = obj._meta
    if not user.is_authenticated:
        return False
    if getattr(obj, "owner_id", None) == user.pk:
        return True
    return user.has_perm(f"{opts.app_label}.delete_{opts.model_name}", obj)


def _require(ok: bool) -> None:
    if not ok:
        raise PermissionDenied


# --- audience helpers -----------------------------------------------------------------------


def _check_audience(audience: str, departments, roles) -> None:
    if audience not in Audience.values:
        raise ServiceError(_("Unknown audience."), field="audience")
    if audience == Audience.DEPARTMENTS and not departments:
        raise ServiceError(_("Choose at least one department."), field="departments")
    if audience == Audience.ROLES and not roles:
        raise ServiceError(_("Choose at least one role."), field="roles")


def _check_visibility(visibility: str, departments, roles, users) -> None:
    if visibility not in Visibility.values:
        raise ServiceError(_("Unknown visibility."), field="visibility")
    if visibility == Visibility.RESTRICTED and not (departments or roles or users):
        raise ServiceError(
            _("Choose at least one department, role or person who may see it."),
            field="visibility",
        )


# --- announcements --------------------------------------------------------------------------


def _save_attachments(announcement: Announcement, files: Iterable, by) -> list:
    checked = [check_upload(f) for f in files or ()]
    rows = []
    try:
        for item in checked:
            row = AnnouncementAttachment(
                announcement=announcement,
                name=item.name,
                size=item.size,
                content_type=item.content_type,
                uploaded_by=by,
            )
            row.file.save(item.name, item.file, save=False)
            rows.append(row)
            row.save()
    except Exception:
        remove_stored([row.file for row in rows])  # rows roll back: files must go too
        raise
    return rows


def _notify_audience(announcement: Announcement, by) -> int:
    """In-app to every audience member at once (notify.send takes them all in one call)."""
    recipients = list(selectors.audience_users(announcement))
    notify_send(
        recipients,
        "docs.announcement_published",
        announcement,
        message=_("Announcement: %(title)s") % {"title": announcement.title},
        actor=by,
    )
    announcement.notified_at = timezone.now()
    announcement.save(update_fields=["notified_at"])
    AnnouncementEvent.objects.create(
        announcement=announcement,
        kind=AnnouncementEvent.Kind.NOTIFIED,
        actor=by,
        payload={"recipients": len(recipients)},
    )
    return len(recipients)


@transaction.atomic
def announcement_publish(
    *,
    by: User,
    title: str,
    body: str = "",
    audience: str = Audience.EVERYONE,
    departments: Iterable[Department] = (),
    roles: Iterable[Group] = (),
    pinned: bool = False,
    requires_read: bool = False,
    published_at: datetime | None = None,
    draft: bool = False,
    attachments: Iterable = (),
) -> Announcement:
    """Create an announcement: published now, at `published_at` (scheduled) or kept as a draft.

    Side effects: the audience is notified now, or by the beat task when a scheduled one starts.
    """
    _require(can_publish(by))
    departments, roles = list(departments or ()), list(roles or ())
    _check_audience(audience, departments, roles)
    if not (title or "").strip():
        raise ServiceError(_("Give the announcement a title."), field="title")
    if not draft and published_at is None:
        published_at = timezone.now()
    obj = Announcement.objects.create(
        title=title.strip()[:200],
        body=body or "",
        audience=audience,
        pinned=pinned,
        requires_read=requires_read,
        published_at=None if draft else published_at,
        publisher=by,
    )
    if audience == Audience.DEPARTMENTS:
        obj.departments.set(departments)
    if audience == Audience.ROLES:
        obj.roles.set(roles)
    _save_attachments(obj, attachments, by)
    AnnouncementEvent.objects.create(
        announcement=obj,
        kind=AnnouncementEvent.Kind.PUBLISHED,
        actor=by,
        payload={"published_at": obj.published_at.isoformat() if obj.published_at else None},
    )
    if obj.is_published:
        _notify_audience(obj, by)
    return obj


@transaction.atomic
def announcement_update(
    *,
    announcement: Announcement,
    by: User,
    data: dict,
    attachments: Iterable = (),
    remove_attachments: Iterable[int] = (),
) -> Announcement:
    """Change title, body, audience, flags or publish time (`data` holds the fields to change)."""
    _require(can_manage_announcement(by, announcement))
    obj = Announcement.objects.select_for_update().get(pk=announcement.pk)
    changed = []
    for name in ("title", "body", "audience", "pinned", "requires_read", "published_at"):
        if name in data and getattr(obj, name) != data[name]:
            setattr(obj, name, data[name])
            changed.append(name)
    if "draft" in data and data["draft"] and obj.published_at is not None:
        obj.published_at = None
        changed.append("published_at")
    departments = list(data.get("departments", obj.departments.all()))
    roles = list(data.get("roles", obj.roles.all()))
    _check_audience(obj.audience, departments, roles)
    if not (obj.title or "").strip():
        raise ServiceError(_("Give the announcement a title."), field="title")
    if changed:
        obj.save(update_fields=[*set(changed), "updated_at"])
    obj.departments.set(departments if obj.audience == Audience.DEPARTMENTS else [])
    obj.roles.set(roles if obj.audience == Audience.ROLES else [])
    removed = list(obj.attachments.filter(pk__in=list(remove_attachments or ())))
    if removed:
        names = [a.file.name for a in removed]
        AnnouncementAttachment.objects.filter(pk__in=[a.pk for a in removed]).delete()
        transaction.on_commit(lambda: delete_stored(names))
    added = _save_attachments(obj, attachments, by)
    AnnouncementEvent.objects.create(
        announcement=obj,
        kind=AnnouncementEvent.Kind.UPDATED,
        actor=by,
        payload={
            "fields": sorted(set(changed)),
            "files_added": len(added),
            "files_removed": len(removed),
        },
    )
    if obj.is_published and obj.notified_at is None:
        _notify_audience(obj, by)
    return obj


@transaction.atomic
def announcement_delete(*, announcement: Announcement, by: User) -> None:
    _require(
        by.is_authenticated
        and (
            announcement.publisher_id == by.pk
            or by.has_perm("docs.delete_announcement", announcement)
        )
    )
    names = [a.file.name for a in announcement.attachments.all()]
    announcement.delete()
    transaction.on_commit(lambda: delete_stored(names))


def announcement_mark_read(*, announcement: Announcement, by: User) -> AnnouncementRead:
    """Record that `by` read it (idempotent: the first read time is kept)."""
    if not by.is_authenticated:
        raise PermissionDenied
    if not announcement.is_published:
        raise ServiceError(_("This announcement is not published yet."))
    with transaction.atomic():
        # ignore_conflicts: two tabs opening it at once give one receipt, not an error.
        AnnouncementRead.objects.bulk_create(
            [AnnouncementRead(announcement=announcement, user=by)], ignore_conflicts=True
        )
    return AnnouncementRead.objects.get(announcement=announcement, user=by)


@transaction.atomic
def announcement_remind(*, announcement: Announcement, by: User) -> int:
    """Notify every audience member who has not read it yet; at most once an hour."""
    _require(can_manage_announcement(by, announcement))
    obj = Announcement.objects.select_for_update().get(pk=announcement.pk)
    if not obj.is_published:
        raise ServiceError(_("This announcement is not published yet."))
    now = timezone.now()
    if obj.last_reminded_at and now - obj.last_reminded_at < REMIND_INTERVAL:
        wait = int((REMIND_INTERVAL - (now - obj.last_reminded_at)).total_seconds() // 60) + 1
        raise ServiceError(
            _("The unread were reminded less than an hour ago; try again in %(n)s minutes.")
            % {"n": wait},
            code="throttled",
        )
    recipients = list(selectors.unread_audience(obj).exclude(pk=by.pk))
    notify_send(
        recipients,
        "docs.announcement_reminder",
        obj,
        message=_("Please read: %(title)s") % {"title": obj.title},
        actor=by,
    )
    obj.last_reminded_at = now
    obj.save(update_fields=["last_reminded_at"])
    announcement.last_reminded_at = now
    AnnouncementEvent.objects.create(
        announcement=obj,
        kind=AnnouncementEvent.Kind.REMINDED,
        actor=by,
        payload={"recipients": len(recipients)},
    )
    return len(recipients)


def announcements_notify_due() -> int:
    """Notify the audiences of scheduled announcements whose time has come (beat, idempotent)."""
    done = 0
    due = Announcement.objects.filter(
        published_at__lte=timezone.now(), notified_at__isnull=True
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            obj = (
                Announcement.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, notified_at__isnull=True)
                .select_related("publisher")
                .first()
            )
            if obj is not None:
                _notify_audience(obj, obj.publisher)
                done += 1
    return done


# --- folders ---------------------------------------------------------------------------------


def recompute_rules() -> int:
    """Set `Folder.rule` for every folder from the tree (folders are few: one read, few writes).

    Called by every service that changes a folder's visibility or place in the tree.
    """
    rows = {pk: (parent, vis, rule) for pk, parent, vis, rule in Folder.objects.values_list(
        "pk", "parent_id", "visibility", "rule_id"
    )}  # fmt: skip
    memo: dict[int, int | None] = {}

    def rule_of(pk: int, depth: int = 0) -> int | None:
        if pk in memo:
            return memo[pk]
        parent, vis, _rule = rows[pk]
        if vis != Visibility.INHERIT:
            found = pk
        elif parent is None or depth > 100:
            found = None
        else:
            found = rule_of(parent, depth + 1)
        memo[pk] = found
        return found

    by_rule: dict[int | None, list[int]] = {}
    for pk, (_parent, _vis, current) in rows.items():
        wanted = rule_of(pk)
        if wanted != current:
            by_rule.setdefault(wanted, []).append(pk)
    for rule, pks in by_rule.items():
        Folder.objects.filter(pk__in=pks).update(rule_id=rule)
    return sum(len(p) for p in by_rule.values())


def _check_parent(folder: Folder | None, parent: Folder | None, by: User) -> None:
    if parent is None:
        return
    if not Folder.objects.visible_to(by).filter(pk=parent.pk).exists():
        raise ServiceError(_("No such folder."), field="parent")
    if folder is not None and folder.pk:
        parents = dict(Folder.objects.values_list("pk", "parent_id"))
        node = parent.pk
        while node is not None:
            if node == folder.pk:
                raise ServiceError(_("A folder cannot be moved below itself."), field="parent")
            node = parents.get(node)


def _check_folder_name(name: str, parent: Folder | None, exclude: int | None = None) -> str:
    name = " ".join((name or "").split())[:100]
    if not name:
        raise ServiceError(_("Give the folder a name."), field="name")
    clash = Folder.objects.filter(name=name, parent=parent)
    if exclude:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise ServiceError(_("A folder of this name already exists here."), field="name")
    return name


def _sync_named_users(obj, users: Iterable[User] | None, by: User) -> None:
    """Named readers are guardian view grants on the record (DESIGN §4.1 layer 3)."""
    if users is None:
        return
    name = obj._meta.model_name
    perm = f"docs.view_{name}"
    wanted = {u.pk: u for u in users}
    current = get_users_with_perms(
        obj, with_group_users=False, with_superusers=False, only_with_perms_in=[f"view_{name}"]
    )
    current_ids = {u.pk for u in current}
    for user in current:
        if user.pk not in wanted:
            remove_perm(perm, user, obj)
            clear_caches(user)
    for pk, user in wanted.items():
        if pk not in current_ids:
            assign_perm(perm, user, obj)
            clear_caches(user)


def named_users(obj) -> list[User]:
    name = obj._meta.model_name
    return sorted(
        get_users_with_perms(
            obj, with_group_users=False, with_superusers=False, only_with_perms_in=[f"view_{name}"]
        ),
        key=lambda u: u.username,
    )


@transaction.atomic
def folder_create(
    *,
    by: User,
    name: str,
    parent: Folder | None = None,
    description: str = "",
    order: int = 0,
    visibility: str = Visibility.INHERIT,
    departments: Iterable[Department] = (),
    roles: Iterable[Group] = (),
    users: Iterable[User] | None = None,
) -> Folder:
    _require(by.is_authenticated and by.has_perm("docs.add_folder"))
    _check_parent(None, parent, by)
    departments, roles = list(departments or ()), list(roles or ())
    _check_visibility(visibility, departments, roles, list(users or ()))
    folder = Folder.objects.create(
        name=_check_folder_name(name, parent),
        parent=parent,
        description=(description or "")[:300],
        order=order,
        visibility=visibility,
        owner=by,
    )
    if visibility == Visibility.RESTRICTED:
        folder.departments.set(departments)
        folder.roles.set(roles)
    _sync_named_users(folder, users, by)
    recompute_rules()
    folder.refresh_from_db(fields=["rule"])
    FolderEvent.objects.create(folder=folder, kind=FolderEvent.Kind.CREATED, actor=by)
    return folder


@transaction.atomic
def folder_update(
    *, folder: Folder, by: User, name: str, description: str = "", order: int | None = None
) -> Folder:
    _require(can_change(by, folder))
    obj = Folder.objects.select_for_update().get(pk=folder.pk)
    obj.name = _check_folder_name(name, obj.parent, exclude=obj.pk)
    obj.description = (description or "")[:300]
    fields = ["name", "description"]
    if order is not None:
        obj.order = order
        fields.append("order")
    obj.save(update_fields=fields)
    FolderEvent.objects.create(folder=obj, kind=FolderEvent.Kind.UPDATED, actor=by)
    return obj


@transaction.atomic
def folder_move(*, folder: Folder, by: User, parent: Folder | None) -> Folder:
    """Put a folder (with everything below it) under `parent` (None: top level)."""
    _require(can_change(by, folder))
    obj = Folder.objects.select_for_update().get(pk=folder.pk)
    _check_parent(obj, parent, by)
    _check_folder_name(obj.name, parent, exclude=obj.pk)
    before = obj.parent_id
    obj.parent = parent
    obj.save(update_fields=["parent"])
    recompute_rules()
    obj.refresh_from_db(fields=["rule"])
    FolderEvent.objects.create(
        folder=obj,
        kind=FolderEvent.Kind.MOVED,
        actor=by,
        payload={"from": before, "to": getattr(parent, "pk", None)},
    )
    return obj


@transaction.atomic
def folder_set_visibility(
    *,
    folder: Folder,
    by: User,
    visibility: str,
    departments: Iterable[Department] = (),
    roles: Iterable[Group] = (),
    users: Iterable[User] | None = None,
) -> Folder:
    """Who may see the folder and what inherits from it (subfolders, documents)."""
    _require(can_change(by, folder))
    departments, roles = list(departments or ()), list(roles or ())
    users = list(users) if users is not None else None
    _check_visibility(visibility, departments, roles, users)
    obj = Folder.objects.select_for_update().get(pk=folder.pk)
    obj.visibility = visibility
    obj.save(update_fields=["visibility"])
    restricted = visibility == Visibility.RESTRICTED
    obj.departments.set(departments if restricted else [])
    obj.roles.set(roles if restricted else [])
    _sync_named_users(obj, users, by)
    recompute_rules()
    obj.refresh_from_db(fields=["rule"])
    FolderEvent.objects.create(
        folder=obj,
        kind=FolderEvent.Kind.VISIBILITY,
        actor=by,
        payload=_visibility_payload(visibility, departments, roles, users),
    )
    return obj


@transaction.atomic
def folder_delete(*, folder: Folder, by: User) -> None:
    _require(can_delete(by, folder))
    if folder.children.exists() or folder.documents.exists():
        raise ServiceError(_("Only an empty folder can be deleted."))
    folder.delete()
    recompute_rules()


def _visibility_payload(visibility, departments, roles, users) -> dict:
    return {
        "visibility": visibility,
        "departments": [d.pk for d in departments],
        "roles": [r.pk for r in roles],
        "users": [u.pk for u in users] if users is not None else None,
    }


# --- documents -------------------------------------------------------------------------------


def _tags(names: Iterable[str] | str | None) -> list[Tag]:
    if names is None:
        return []
    if isinstance(names, str):
        names = names.replace("，", ",").split(",")
    clean: list[str] = []
    for raw in names:
        name = " ".join(str(raw).split())[:50]
        if name and name.casefold() not in {n.casefold() for n in clean}:
            clean.append(name)
    if len(clean) > MAX_TAGS:
        raise ServiceError(_("At most %(n)s tags.") % {"n": MAX_TAGS}, field="tags")
    existing = {t.name.casefold(): t for t in Tag.objects.filter(name__in=clean)}
    out = []
    for name in clean:
        tag = existing.get(name.casefold())
        if tag is None:
            tag, _created = Tag.objects.get_or_create(name=name)
        out.append(tag)
    return out


def _check_folder(folder: Folder | None, by: User) -> None:
    if folder is not None and not Folder.objects.visible_to(by).filter(pk=folder.pk).exists():
        raise ServiceError(_("No such folder."), field="folder")


@transaction.atomic
def document_create(
    *,
    by: User,
    title: str,
    folder: Folder | None = None,
    body: str = "",
    tags: Iterable[str] | str | None = None,
    custom: dict | None = None,
    visibility: str = Visibility.INHERIT,
    departments: Iterable[Department] = (),
    roles: Iterable[Group] = (),
    users: Iterable[User] | None = None,
    file=None,
    note: str = "",
) -> Document:
    """A new document in `folder` (optionally with its first file as version 1)."""
    _require(by.is_authenticated and by.has_perm("docs.add_document"))
    _check_folder(folder, by)
    if not (title or "").strip():
        raise ServiceError(_("Give the document a title."), field="title")
    departments, roles = list(departments or ()), list(roles or ())
    _check_visibility(visibility, departments, roles, list(users or ()))
    clean_custom = validate_custom_or_raise(Document, custom or {}) if custom is not None else {}
    checked = check_upload(file) if file is not None else None
    doc = Document.objects.create(
        title=title.strip()[:200],
        folder=folder,
        body=body or "",
        visibility=visibility,
        owner=by,
        custom=clean_custom,
    )
    doc.tags.set(_tags(tags))
    if visibility == Visibility.RESTRICTED:
        doc.departments.set(departments)
        doc.roles.set(roles)
    _sync_named_users(doc, users, by)
    DocumentEvent.objects.create(document=doc, kind=DocumentEvent.Kind.CREATED, actor=by)
    if checked is not None:
        _add_version(doc, checked, by, note)
    return doc


@transaction.atomic
def document_update(*, document: Document, by: User, data: dict) -> Document:
    """Change title, body, folder, tags and/or custom values (keys present in `data`)."""
    _require(can_change(by, document))
    doc = Document.objects.select_for_update().get(pk=document.pk)
    changed = []
    for name in ("title", "body"):
        if name in data and getattr(doc, name) != data[name]:
            setattr(doc, name, data[name])
            changed.append(name)
    if not (doc.title or "").strip():
        raise ServiceError(_("Give the document a title."), field="title")
    moved = None
    if "folder" in data and data["folder"] != doc.folder:
        _check_folder(data["folder"], by)
        moved = {"from": doc.folder_id, "to": getattr(data["folder"], "pk", None)}
        doc.folder = data["folder"]
        changed.append("folder")
    if "custom" in data and data["custom"] is not None:
        clean = validate_custom_or_raise(Document, data["custom"], instance=doc, partial=True)
        merged = {**(doc.custom or {}), **clean}
        if merged != doc.custom:
            doc.custom = merged
            changed.append("custom")
    doc.save(update_fields=[*changed, "updated_at"])
    if "tags" in data:
        doc.tags.set(_tags(data["tags"]))
        changed.append("tags")
    if moved:
        DocumentEvent.objects.create(
            document=doc, kind=DocumentEvent.Kind.MOVED, actor=by, payload=moved
        )
    if changed:
        DocumentEvent.objects.create(
            document=doc, kind=DocumentEvent.Kind.UPDATED, actor=by, payload={"fields": changed}
        )
    return doc


def _add_version(doc: Document, checked, by: User, note: str) -> DocumentVersion:
    number = (doc.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = DocumentVersion(
        document=doc,
        number=number,
        original_name=checked.name,
        size=checked.size,
        content_type=checked.content_type,
        note=(note or "")[:300],
        uploaded_by=by,
    )
    version.file.save(checked.name, checked.file, save=False)
    version.save()
    doc.current_version = version
    doc.save(update_fields=["current_version", "updated_at"])
    DocumentEvent.objects.create(
        document=doc,
        kind=DocumentEvent.Kind.VERSION,
        actor=by,
        payload={"number": number, "name": checked.name, "note": version.note},
    )
    return version


@transaction.atomic
def document_upload_version(
    *, document: Document, by: User, file, note: str = ""
) -> DocumentVersion:
    """Every upload is a new version (the old ones stay downloadable)."""
    _require(can_change(by, document))
    checked = check_upload(file)
    # The lock serialises two uploads to one document: version numbers stay 1, 2, 3 …
    doc = Document.objects.select_for_update().get(pk=document.pk)
    return _add_version(doc, checked, by, note)


@transaction.atomic
def document_set_visibility(
    *,
    document: Document,
    by: User,
    visibility: str,
    departments: Iterable[Department] = (),
    roles: Iterable[Group] = (),
    users: Iterable[User] | None = None,
) -> Document:
    _require(can_change(by, document))
    departments, roles = list(departments or ()), list(roles or ())
    users = list(users) if users is not None else None
    _check_visibility(visibility, departments, roles, users)
    doc = Document.objects.select_for_update().get(pk=document.pk)
    doc.visibility = visibility
    doc.save(update_fields=["visibility", "updated_at"])
    restricted = visibility == Visibility.RESTRICTED
    doc.departments.set(departments if restricted else [])
    doc.roles.set(roles if restricted else [])
    _sync_named_users(doc, users, by)
    DocumentEvent.objects.create(
        document=doc,
        kind=DocumentEvent.Kind.VISIBILITY,
        actor=by,
        payload=_visibility_payload(visibility, departments, roles, users),
    )
    return doc


@transaction.atomic
def document_delete(*, document: Document, by: User) -> None:
    """Delete a document with all its versions; the files go once the deletion commits."""
    _require(can_delete(by, document))
    names = list(document.versions.values_list("file", flat=True))
    Document.objects.filter(pk=document.pk).update(current_version=None)
    document.delete()
    transaction.on_commit(lambda: delete_stored(names))
