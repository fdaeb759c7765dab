"""Pages of the reports app (/reports/)."""

from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("builder/", views.builder, name="builder"),
    path("builder/save/", views.builder_save, name="builder-save"),
    path("builder/drill/", views.builder_drill, name="builder-drill"),
    path("saved/<int:pk>/", views.saved_detail, name="saved-detail"),
    path("saved/<int:pk>/edit/", views.saved_edit, name="saved-edit"),
    path("saved/<int:pk>/share/", views.saved_share, name="saved-share"),
    path("saved/<int:pk>/delete/", views.saved_delete, name="saved-delete"),
    path("saved/<int:pk>/export/", views.saved_export, name="saved-export"),
    path("saved/<int:pk>/drill/", views.saved_drill, name="saved-drill"),
    path("dashboards/home/", views.dashboard_home, name="dashboard-home"),
    path("dashboards/new/", views.dashboard_new, name="dashboard-new"),
    path("dashboards/<int:pk>/", views.dashboard, name="dashboard"),
    path("dashboards/<int:pk>/edit/", views.dashboard_edit, name="dashboard-edit"),
    path("dashboards/<int:pk>/add/", views.dashboard_add, name="dashboard-add"),
    path("dashboards/<int:pk>/delete/", views.dashboard_delete, name="dashboard-delete"),
    path("dashboards/items/<int:pk>/<slug:action>/", views.dashboard_item, name="dashboard-item"),
    path("widget/", views.widget, name="widget"),
    path("targets/", views.targets, name="targets"),
    path("targets/<int:pk>/delete/", views.target_delete, name="target-delete"),
    path("<slug:key>/", views.builtin, name="builtin"),
    path("<slug:key>/export/", views.builtin_export, name="builtin-export"),
    path("<slug:key>/drill/", views.builtin_drill, name="builtin-drill"),
]
