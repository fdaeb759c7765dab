from django.urls import path

from . import history_views, sharing, views

app_name = "org"
urlpatterns = [
    path("people/", views.people, name="people"),
    path(
        "history/<str:app_label>/<str:model>/<int:pk>/",
        history_views.record_history,
        name="history",
    ),
    path("share/<str:app_label>/<str:model>/<int:pk>/", sharing.share, name="share"),
]
