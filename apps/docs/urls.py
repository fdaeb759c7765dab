from django.urls import path

from . import views

app_name = "docs"
urlpatterns = [
    path("announcements/", views.announcement_list, name="announcements"),
    path("announcements/new/", views.announcement_create, name="announcement-new"),
    path("announcements/<int:pk>/", views.announcement_detail, name="announcement"),
    path("announcements/<int:pk>/edit/", views.announcement_edit, name="announcement-edit"),
    path("announcements/<int:pk>/read/", views.announcement_read, name="announcement-read"),
    path("announcements/<int:pk>/remind/", views.announcement_remind, name="announcement-remind"),
    path("announcements/<int:pk>/delete/", views.announcement_delete, name="announcement-delete"),
    path(
        "announcements/files/<int:pk>/",
        views.announcement_attachment,
        name="announcement-attachment",
    ),
    path("library/", views.library, name="library"),
    path("library/new/", views.document_create, name="document-new"),
    path("library/<int:pk>/", views.document_detail, name="document"),
    path("library/<int:pk>/edit/", views.document_edit, name="document-edit"),
    path("library/<int:pk>/upload/", views.document_upload, name="document-upload"),
    path("library/<int:pk>/visibility/", views.document_visibility, name="document-visibility"),
    path("library/<int:pk>/delete/", views.document_delete, name="document-delete"),
    path("library/files/<int:pk>/", views.version_download, name="version-download"),
    path("library/folders/new/", views.folder_create, name="folder-new"),
    path("library/folders/<int:pk>/edit/", views.folder_edit, name="folder-edit"),
    path("library/folders/<int:pk>/visibility/", views.folder_visibility, name="folder-visibility"),
    path("library/folders/<int:pk>/delete/", views.folder_delete, name="folder-delete"),
]
