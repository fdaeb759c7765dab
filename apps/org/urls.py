from django.urls import path

from . import sharing, views

app_name = "org"
urlpatterns = [
    path("people/", views.people, name="people"),
    path("share/<str:app_label>/<str:model>/<int:pk>/", sharing.share, name="share"),
]
