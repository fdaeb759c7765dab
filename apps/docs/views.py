"""Pages: announcements (list, detail, create/edit, remind) and the library (folders, documents,
versions, visibility), plus the only way to download their files.

Thin: bind the form, check permission, one service or selector call, render or redirect. What the
user may not see is a 404; what they see but may not change is a 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.org.errors import ServiceError
from apps.studio.layout import detail_sections

from . import selectors, services
from .forms import (
    AnnouncementForm,
    DocumentForm,
    FolderForm,
    VersionForm,
    VisibilityForm,
    apply_service_error,
)
from .models import (
    Announcement,
    AnnouncementAttachment,
    Document,
    DocumentVersion,
    Folder,
    Visibility,
)

PAGE_SIZE = 20


def _page(request, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def file_response(field_file, name: str, content_type: str) -> FileResponse:
    """Always a download, never rendered on our origin (an upload must not run as a page)."""
    response = FileResponse(
        field_file.open("rb"), as_attachment=True, filename=name, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-cache"
    return response


# --- announcements --------------------------------------------------------------------------


def _announcement(request, pk: int) -> Announcement:
    try:
        return selectors.announcement_detail(user=request.user, pk=pk)
    except Announcement.DoesNotExist:
        raise Http404 from None


@login_required
def announcement_list(request):
    unread = request.GET.get("unread") == "1"
    q = request.GET.get("q", "")
    qs = selectors.announcement_list(user=request.user, filters={"unread": unread, "q": q})
    return render(
        request,
        "docs/announcement_list.html",
        {
            "page": _page(request, qs),
            "unread": unread,
            "q": q,
            "can_publish": services.can_publish(request.user),
        },
    )


@login_required
def announcement_detail(request, pk: int):
    obj = _announcement(request, pk)
    if obj.is_published and not obj.is_read:
        services.announcement_mark_read(announcement=obj, by=request.user)
        obj.is_read = True
        obj.read_count = (obj.read_count or 0) + 1
    can_manage = services.can_manage_announcement(request.user, obj)
    return render(
        request,
        "docs/announcement_detail.html",
        {
            "obj": obj,
            "attachments": list(obj.attachments.all()),
            "can_manage": can_manage,
            "readers": selectors.announcement_readers(obj) if can_manage else None,
        },
    )


@login_required
@require_POST
def announcement_read(request, pk: int):
    obj = _announcement(request, pk)
    try:
        services.announcement_mark_read(announcement=obj, by=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(obj)


def _announcement_form_save(request, form, instance=None):
    data = form.cleaned_data
    files = request.FILES.getlist("attachments")
    if instance is None:
        return services.announcement_publish(
            by=request.user,
            title=data["title"],
            body=data["body"],
            audience=data["audience"],
            departments=data["departments"],
            roles=data["roles"],
            pinned=data["pinned"],
            requires_read=data["requires_read"],
            published_at=data.get("published_at"),
            draft=data.get("draft", False),
            attachments=files,
        )
    payload = {
        k: data[k]
        for k in ("title", "body", "audience", "departments", "roles", "pinned", "requires_read")
    }
    if data.get("draft"):
        payload["draft"] = True
    elif data.get("published_at"):
        payload["published_at"] = data["published_at"]
    elif instance.published_at is None:
        from django.utils import timezone

        payload["published_at"] = timezone.now()
    return services.announcement_update(
        announcement=instance,
        by=request.user,
        data=payload,
        attachments=files,
        remove_attachments=[int(x) for x in request.POST.getlist("remove") if x.isdigit()],
    )


@login_required
def announcement_create(request):
    if not services.can_publish(request.user):
        raise PermissionDenied
    form = AnnouncementForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            obj = _announcement_form_save(request, form)
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The announcement was saved."))
            return redirect(obj)
    return render(request, "docs/announcement_form.html", {"form": form, "obj": None})


@login_required
def announcement_edit(request, pk: int):
    obj = _announcement(request, pk)
    if not services.can_manage_announcement(request.user, obj):
        raise PermissionDenied
    form = AnnouncementForm(request.POST or None, request.FILES or None, instance=obj)
    if request.method == "POST" and form.is_valid():
        try:
            obj = _announcement_form_save(request, form, instance=obj)
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The announcement was saved."))
            return redirect(obj)
    return render(
        request,
        "docs/announcement_form.html",
        {"form": form, "obj": obj, "attachments": list(obj.attachments.all())},
    )


@login_required
@require_POST
def announcement_remind(request, pk: int):
    obj = _announcement(request, pk)
    if not services.can_manage_announcement(request.user, obj):
        raise PermissionDenied
    try:
        n = services.announcement_remind(announcement=obj, by=request.user)
    except ServiceError as exc:
        messages.warning(request, exc.message)
    else:
        messages.success(request, _("%(n)s colleagues were reminded.") % {"n": n})
    return redirect(obj)


@login_required
@require_POST
def announcement_delete(request, pk: int):
    obj = _announcement(request, pk)
    services.announcement_delete(announcement=obj, by=request.user)
    messages.success(request, _("The announcement was deleted."))
    return redirect("docs:announcements")


@login_required
def announcement_attachment(request, pk: int):
    att = AnnouncementAttachment.objects.filter(pk=pk).first()
    if att is None:
        raise Http404
    _announcement(request, att.announcement_id)
    return file_response(att.file, att.name, att.content_type)


# --- library --------------------------------------------------------------------------------


def _document(request, pk: int) -> Document:
    try:
        return selectors.document_detail(user=request.user, pk=pk)
    except Document.DoesNotExist:
        raise Http404 from None


def _folder(request, pk) -> Folder:
    folder = Folder.objects.visible_to(request.user).filter(pk=pk).first()
    if folder is None:
        raise Http404
    return folder


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
def library(request):
    tree = selectors.folder_tree(user=request.user)
    flat = selectors.flatten(tree)
    folder_id = _int(request.GET.get("folder"))
    current = next((f for f in flat if f.pk == folder_id), None)
    if folder_id and current is None:
        raise Http404
    filters = {
        "folder": folder_id,
        "tag": request.GET.get("tag", ""),
        "q": request.GET.get("q", ""),
    }
    page = _page(request, selectors.document_list(user=request.user, filters=filters))
    crumbs = []
    by_id = {f.pk: f for f in flat}
    node = current
    while node is not None:
        crumbs.insert(0, node)
        node = by_id.get(node.parent_id)
    context = {
        "tree": tree,
        "folders": flat,
        "current": current,
        "crumbs": crumbs,
        "page": page,
        "tags": selectors.tags_in_use(user=request.user, limit=30),
        "filters": filters,
        "can_add_document": request.user.has_perm("docs.add_document"),
        "can_add_folder": request.user.has_perm("docs.add_folder"),
        "can_change_folder": current is not None and services.can_change(request.user, current),
    }
    template = "docs/_documents.html" if request.htmx else "docs/library.html"
    return render(request, template, context)


@login_required
def document_detail(request, pk: int):
    doc = _document(request, pk)
    can_change = services.can_change(request.user, doc)
    return render(
        request,
        "docs/document_detail.html",
        {
            "doc": doc,
            "versions": list(doc.versions.all()),
            "events": list(doc.events.all()[:20]),
            "custom_sections": detail_sections(request.user, doc, builtin=[]),
            "can_change": can_change,
            "can_delete": services.can_delete(request.user, doc),
            "version_form": VersionForm() if can_change else None,
        },
    )


def _visible_folders(user):
    return Folder.objects.visible_to(user).order_by("name")


@login_required
def document_create(request):
    if not request.user.has_perm("docs.add_document"):
        raise PermissionDenied
    folders = _visible_folders(request.user)
    initial = {"folder": _int(request.GET.get("folder"))}
    form = DocumentForm(
        request.POST or None,
        request.FILES or None,
        user=request.user,
        folders=folders,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            doc = services.document_create(
                by=request.user,
                title=data["title"],
                folder=data.get("folder"),
                body=data.get("body", ""),
                tags=data.get("tags", ""),
                custom=data.get("custom"),
                file=data.get("file"),
                note=data.get("note", ""),
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The document was created."))
            return redirect(doc)
    return render(request, "docs/document_form.html", {"form": form, "doc": None})


@login_required
def document_edit(request, pk: int):
    doc = _document(request, pk)
    if not services.can_change(request.user, doc):
        raise PermissionDenied
    form = DocumentForm(
        request.POST or None,
        instance=doc,
        user=request.user,
        folders=_visible_folders(request.user),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        payload = {k: data[k] for k in ("title", "folder", "body") if k in data}
        payload["tags"] = data.get("tags", "")
        if data.get("custom") is not None:
            payload["custom"] = data["custom"]
        try:
            services.document_update(document=doc, by=request.user, data=payload)
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The document was saved."))
            return redirect(doc)
    return render(request, "docs/document_form.html", {"form": form, "doc": doc})


@login_required
@require_POST
def document_upload(request, pk: int):
    doc = _document(request, pk)
    if not services.can_change(request.user, doc):
        raise PermissionDenied
    form = VersionForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            version = services.document_upload_version(
                document=doc, by=request.user, file=form.cleaned_data["file"],
                note=form.cleaned_data["note"],
            )  # fmt: skip
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Version %(n)s was uploaded.") % {"n": version.number})
    else:
        messages.error(request, _("Choose a file to upload."))
    return redirect(doc)


@login_required
@require_POST
def document_delete(request, pk: int):
    doc = _document(request, pk)
    if not services.can_delete(request.user, doc):
        raise PermissionDenied
    folder = doc.folder_id
    services.document_delete(document=doc, by=request.user)
    messages.success(request, _("The document was deleted."))
    url = reverse("docs:library")
    return redirect(f"{url}?folder={folder}" if folder else url)


@login_required
def version_download(request, pk: int):
    try:
        version = selectors.version_for_download(user=request.user, pk=pk)
    except DocumentVersion.DoesNotExist:
        raise Http404 from None
    return file_response(version.file, version.original_name, version.content_type)


def _visibility_page(request, obj, *, service, kind: str, back: str):
    if not services.can_change(request.user, obj):
        raise PermissionDenied
    top_level_folder = kind == "folder" and obj.parent_id is None
    initial = {
        "visibility": obj.visibility,
        "departments": list(obj.departments.all()),
        "roles": list(obj.roles.all()),
        "users": services.named_users(obj),
    }
    if top_level_folder and obj.visibility == Visibility.INHERIT:
        initial["visibility"] = Visibility.EVERYONE
    form = VisibilityForm(request.POST or None, initial=initial, top_level_folder=top_level_folder)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            service(
                **{kind: obj},
                by=request.user,
                visibility=data["visibility"],
                departments=data["departments"],
                roles=data["roles"],
                users=data["users"],
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Visibility was saved."))
            return redirect(back)
    inherited = None
    folder = obj.parent if kind == "folder" else obj.folder
    if folder is not None:
        inherited = folder.rule or None
    return render(
        request,
        "docs/visibility.html",
        {"form": form, "obj": obj, "kind": kind, "back": back, "inherited_from": inherited},
    )


@login_required
def document_visibility(request, pk: int):
    doc = _document(request, pk)
    return _visibility_page(
        request,
        doc,
        service=services.document_set_visibility,
        kind="document",
        back=doc.get_absolute_url(),
    )


@login_required
def folder_visibility(request, pk: int):
    folder = _folder(request, pk)
    return _visibility_page(
        request,
        folder,
        service=services.folder_set_visibility,
        kind="folder",
        back=folder.get_absolute_url(),
    )


@login_required
def folder_create(request):
    if not request.user.has_perm("docs.add_folder"):
        raise PermissionDenied
    folders = _visible_folders(request.user)
    form = FolderForm(
        request.POST or None, folders=folders, initial={"parent": _int(request.GET.get("parent"))}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            folder = services.folder_create(
                by=request.user,
                name=data["name"],
                parent=data.get("parent"),
                description=data.get("description", ""),
                order=data.get("order") or 0,
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The folder was created."))
            return redirect(folder.get_absolute_url())
    return render(request, "docs/folder_form.html", {"form": form, "folder": None})


@login_required
def folder_edit(request, pk: int):
    folder = _folder(request, pk)
    if not services.can_change(request.user, folder):
        raise PermissionDenied
    folders = _visible_folders(request.user).exclude(pk=folder.pk)
    form = FolderForm(
        request.POST or None,
        folders=folders,
        initial={
            "name": folder.name,
            "parent": folder.parent_id,
            "description": folder.description,
            "order": folder.order,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():  # a move and a rename succeed or fail together
                if data.get("parent") != folder.parent:
                    services.folder_move(folder=folder, by=request.user, parent=data.get("parent"))
                services.folder_update(
                    folder=folder,
                    by=request.user,
                    name=data["name"],
                    description=data.get("description", ""),
                    order=data.get("order") or 0,
                )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The folder was saved."))
            return redirect(folder.get_absolute_url())
    return render(
        request,
        "docs/folder_form.html",
        {"form": form, "folder": folder, "can_delete": services.can_delete(request.user, folder)},
    )


@login_required
@require_POST
def folder_delete(request, pk: int):
    folder = _folder(request, pk)
    if not services.can_delete(request.user, folder):
        raise PermissionDenied
    try:
        services.folder_delete(folder=folder, by=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(folder.get_absolute_url())
    messages.success(request, _("The folder was deleted."))
    return redirect("docs:library")
