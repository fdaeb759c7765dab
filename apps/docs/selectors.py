"""Reads for announcements and the library, scoped to the user, in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from apps.org.scopes import department_tree_ids

from .models import (
    Announcement,
    AnnouncementRead,
    Audience,
    Document,
    DocumentEvent,
    DocumentVersion,
    Folder,
    Tag,
)

User = get_user_model()

# --- announcements --------------------------------------------------------------------------


def announcement_list(*, user, filters: Mapping | None = None) -> QuerySet[Announcement]:
    """What `user` may see (addressed to them, their own, or in their role's scope): pinned
    first, newest first, with `is_read` and `read_count` annotated."""
    filters = filters or {}
    qs = (
        Announcement.objects.visible_to(user)
        .with_read_state(user)
        .select_related("publisher")
        .order_by("-pinned", "-published_at", "-id")
    )
    if filters.get("unread"):
        qs = qs.filter(is_read=False, published_at__lte=timezone.now())
    term = (filters.get("q") or "").strip()
    if term:
        qs = qs.filter(Q(title__icontains=term) | Q(body__icontains=term))
    return qs


def announcement_detail(*, user, pk: int) -> Announcement:
    """One announcement the user may see (DoesNotExist otherwise), attachments loaded."""
    return (
        Announcement.objects.visible_to(user)
        .with_read_state(user)
        .select_related("publisher")
        .prefetch_related("attachments", "departments", "roles")
        .get(pk=pk)
    )


def audience_users(announcement: Announcement) -> QuerySet:
    """Active users the announcement is addressed to, as one query (never a loop over users).

    Departments include their sub-departments (one read of the small department tree). The
    publisher is not part of their own audience (not notified, not counted as unread)."""
    users = User.objects.filter(is_active=True).exclude(pk=announcement.publisher_id)
    if announcement.audience == Audience.DEPARTMENTS:
        ids: set[int] = set()
        for dept_id in announcement.departments.values_list("pk", flat=True):
            ids |= department_tree_ids(dept_id)
        return users.filter(department_id__in=sorted(ids))
    if announcement.audience == Audience.ROLES:
        members = Group.user_set.through.objects.filter(
            group_id__in=announcement.roles.values("pk")
        ).values("user_id")
        return users.filter(pk__in=members)
    return users


def unread_audience(announcement: Announcement) -> QuerySet:
    reads = AnnouncementRead.objects.filter(announcement=announcement, user=OuterRef("pk"))
    return audience_users(announcement).exclude(Exists(reads))


def announcement_readers(announcement: Announcement) -> dict:
    """Who has and has not read it: {"read": [users with .read_at], "unread": [users], counts}.

    One query for the audience with each member's read time, one for readers outside it (people
    who were in the audience when they read and have since moved)."""
    read_at = AnnouncementRead.objects.filter(
        announcement=announcement, user=OuterRef("pk")
    ).values("read_at")[:1]
    members = list(
        audience_users(announcement)
        .select_related("department")
        .annotate(read_at=Subquery(read_at))
        .order_by("department__name", "username")
    )
    read = [u for u in members if u.read_at is not None]
    unread = [u for u in members if u.read_at is None]
    read.sort(key=lambda u: u.read_at, reverse=True)
    return {
        "read": read,
        "unread": unread,
        "read_count": len(read),
        "unread_count": len(unread),
        "audience_count": len(members),
    }


def unread_required_for(user) -> QuerySet[Announcement]:
    """Published announcements addressed to `user` that require reading and they have not read:
    one query. The to-do inbox (apps.tasks) registers a provider on top of this."""
    if not user.is_authenticated:
        return Announcement.objects.none()
    reads = AnnouncementRead.objects.filter(announcement=OuterRef("pk"), user_id=user.pk)
    return (
        Announcement.objects.for_audience_member(user)
        .filter(requires_read=True)
        .exclude(publisher_id=user.pk)
        .exclude(Exists(reads))
        .select_related("publisher")
        .order_by("-pinned", "-published_at", "-id")
    )


def unread_required_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return unread_required_for(user).count()


# --- library --------------------------------------------------------------------------------


def folder_tree(*, user) -> list[Folder]:
    """Visible folders as a tree: roots with `.nodes` (children) and `.doc_count` (visible docs
    directly inside), in two queries."""
    folders = list(Folder.objects.visible_to(user).order_by("order", "name"))
    counts = dict(
        Document.objects.visible_to(user)
        .order_by()
        .values_list("folder_id")
        .annotate(n=Count("pk"))
        .values_list("folder_id", "n")
    )
    by_id = {f.pk: f for f in folders}
    roots = []
    for f in folders:
        f.nodes = []
        f.doc_count = counts.get(f.pk, 0)
    for f in folders:
        parent = by_id.get(f.parent_id)
        (parent.nodes if parent is not None else roots).append(f)
    return roots


def flatten(tree: list[Folder], depth: int = 0) -> list[Folder]:
    out = []
    for f in tree:
        f.depth = depth
        out.append(f)
        out.extend(flatten(f.nodes, depth + 1))
    return out


def document_list(*, user, filters: Mapping | None = None) -> QuerySet[Document]:
    """Visible documents, filtered by `folder` (with sub-folders when `deep`), `tag` and `q`."""
    filters = filters or {}
    qs = Document.objects.visible_to(user)
    folder = filters.get("folder")
    if folder:
        qs = qs.filter(folder_id=folder)
    tag = (filters.get("tag") or "").strip()
    if tag:
        qs = qs.filter(
            pk__in=Document.tags.through.objects.filter(tag__name=tag).values("document_id")
        )
    qs = qs.search(filters.get("q") or "")
    return (
        qs.select_related("folder", "owner", "current_version")
        .prefetch_related("tags")
        .order_by("-updated_at", "-id")
    )


def document_detail(*, user, pk: int) -> Document:
    return (
        Document.objects.visible_to(user)
        .select_related("folder", "owner", "current_version")
        .prefetch_related(
            "tags",
            "departments",
            "roles",
            Prefetch(
                "versions",
                queryset=DocumentVersion.objects.select_related("uploaded_by").order_by("-number"),
            ),
            Prefetch(
                "events",
                queryset=DocumentEvent.objects.select_related("actor").order_by(
                    "-created_at", "-id"
                ),
            ),
        )
        .get(pk=pk)
    )


def version_for_download(*, user, pk: int) -> DocumentVersion:
    """A version of a document the user may see (DoesNotExist otherwise)."""
    return DocumentVersion.objects.select_related("document").get(
        pk=pk, document__in=Document.objects.visible_to(user).values("pk")
    )


def tags_in_use(*, user, limit: int = 50) -> list[Tag]:
    """Tags on documents the user can see, most used first (one query)."""
    visible = Document.objects.visible_to(user).values("pk")
    links = Document.tags.through.objects.filter(document_id__in=visible)
    return list(
        Tag.objects.filter(pk__in=links.values("tag_id"))
        .annotate(n=Count("documents", filter=Q(documents__in=visible)))
        .order_by("-n", "name")[:limit]
    )


# --- for other apps: pick and link knowledge-base articles ------------------------------------


def article_choices(*, user, term: str = "", folder: int | None = None, limit: int = 10) -> list:
    """Documents `user` may see matching `term`, as small dicts for a picker (one query).

    Tickets (apps.customers) link articles with this: `[{"id", "title", "folder", "url"}]`.
    """
    qs = Document.objects.visible_to(user).search(term).select_related("folder")
    if folder:
        qs = qs.filter(folder_id=folder)
    return [
        {
            "id": d.pk,
            "title": d.title,
            "folder": d.folder.name if d.folder else "",
            "url": d.get_absolute_url(),
        }
        for d in qs.order_by("-updated_at", "-id")[:limit]
    ]


def article_for(*, user, pk: int) -> Document | None:
    """The article `pk` if `user` may see it, else None (for rendering a stored link)."""
    return Document.objects.visible_to(user).filter(pk=pk).select_related("folder").first()
