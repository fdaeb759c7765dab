"""URLs of the sales app, leads part (mounted under /sales/, namespace "sales")."""

from django.urls import path

from ..views import leads as views
from ..views import leads_list

urlpatterns: list = [
    path("leads/", views.lead_list, name="lead-list"),
    path("leads/new/", views.lead_create, name="lead-create"),
    path("leads/columns/", leads_list.lead_columns, name="lead-columns"),
    path("leads/export/", leads_list.lead_export, name="lead-export"),
    path("leads/bulk/", leads_list.lead_bulk, name="lead-bulk"),
    path("leads/import/", views.lead_import, name="lead-import"),
    path("leads/import/<int:pk>/", views.lead_import_job, name="lead-import-job"),
    path("leads/import/<int:pk>/status/", views.lead_import_status, name="lead-import-status"),
    path("leads/import/<int:pk>/commit/", views.lead_import_commit, name="lead-import-commit"),
    path("leads/<int:pk>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:pk>/edit/", views.lead_edit, name="lead-edit"),
    path("leads/<int:pk>/convert/", views.lead_convert, name="lead-convert"),
    path("leads/<int:pk>/<slug:action>/", views.lead_action, name="lead-action"),
    path("campaigns/", views.campaign_list, name="campaign-list"),
    path("campaigns/new/", views.campaign_create, name="campaign-create"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign-detail"),
    path("campaigns/<int:pk>/edit/", views.campaign_edit, name="campaign-edit"),
    path("forms/<str:key>/", views.public_form, name="lead-public-form"),
]
