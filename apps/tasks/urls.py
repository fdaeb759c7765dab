"""Pages of the tasks app (mounted at the site root: tasks/…, todos/)."""

from django.urls import path

from . import views
from .calendar_urls import urlpatterns as calendar_urlpatterns

app_name = "tasks"

urlpatterns = [
    path("tasks/", views.task_list, name="list"),
    path("tasks/board/", views.board, name="board"),
    path("tasks/new/", views.task_create, name="create"),
    path("tasks/<int:pk>/", views.task_detail, name="detail"),
    path("tasks/<int:pk>/edit/", views.task_edit, name="edit"),
    path("tasks/<int:pk>/status/", views.task_status, name="status"),
    path("tasks/<int:pk>/delete/", views.task_delete, name="delete"),
    path("tasks/<int:pk>/comments/", views.comment_create, name="comment"),
    path("tasks/attachments/<int:pk>/", views.attachment, name="attachment"),
    path("todos/", views.todos, name="todos"),
    *calendar_urlpatterns,
]
