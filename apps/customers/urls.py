"""Pages of the customers app."""

from django.urls import path

from .views import contacts, customers, imports, pool, tickets

app_name = "customers"
urlpatterns = [
    path("", customers.customer_list, name="list"),
    path("new/", customers.create, name="create"),
    path("export/", customers.export, name="export"),
    path("bulk/", customers.bulk, name="bulk"),
    path("columns/", customers.choose_columns, name="columns"),
    path("check-duplicates/", customers.check_duplicates, name="check-duplicates"),
    path("territory-lookup/", customers.territory_lookup, name="territory-lookup"),
    path("pick/", tickets.customer_picker, name="pick"),
    path("pool/", pool.pool, name="pool"),
    path("<int:pk>/", customers.detail, name="detail"),
    path("<int:pk>/edit/", customers.edit, name="edit"),
    path("<int:pk>/timeline/", customers.timeline, name="timeline"),
    path("<int:pk>/claim/", customers.claim, name="claim"),
    path("<int:pk>/release/", customers.release, name="release"),
    path("<int:pk>/follow-ups/new/", contacts.follow_up_create, name="follow-up-create"),
    path("<int:pk>/contacts/new/", contacts.contact_create_view, name="contact-create"),
    path("<int:pk>/tickets/new/", tickets.ticket_create, name="customer-ticket-create"),
    path("contacts/", contacts.contact_list, name="contacts"),
    path("contacts/<int:pk>/edit/", contacts.contact_edit, name="contact-edit"),
    path("follow-ups/<int:pk>/edit/", contacts.follow_up_edit, name="follow-up-edit"),
    path("tickets/", tickets.ticket_list, name="tickets"),
    path("tickets/new/", tickets.ticket_create, name="ticket-create"),
    path("tickets/articles/pick/", tickets.article_picker, name="ticket-article-pick"),
    path("tickets/<int:pk>/", tickets.ticket_detail, name="ticket-detail"),
    path("tickets/<int:pk>/edit/", tickets.ticket_edit, name="ticket-edit"),
    path("tickets/<int:pk>/<slug:action>/", tickets.ticket_action, name="ticket-action"),
    path("import/", imports.upload, name="import"),
    path("import/<int:pk>/", imports.job, name="import-job"),
    path("import/<int:pk>/status/", imports.job_status, name="import-status"),
    path("import/<int:pk>/commit/", imports.commit, name="import-commit"),
]
