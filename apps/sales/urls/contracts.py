"""URLs of the sales app, contracts part (mounted under /sales/, namespace "sales")."""

from django.urls import path

from ..views import contracts as views

urlpatterns: list = [
    path("contracts/", views.contract_list, name="contract-list"),
    path("contracts/new/", views.contract_create, name="contract-create"),
    path("contracts/export/", views.contract_export, name="contract-export"),
    path("contracts/aging/", views.aging, name="contract-aging"),
    path("contracts/<int:pk>/", views.contract_detail, name="contract-detail"),
    path("contracts/<int:pk>/edit/", views.contract_edit, name="contract-edit"),
    path("contracts/<int:pk>/plans/new/", views.plan_add, name="plan-add"),
    path("contracts/<int:pk>/payments/new/", views.payment_add, name="payment-add"),
    path("contracts/<int:pk>/invoices/new/", views.invoice_request, name="invoice-request"),
    path("contracts/<int:pk>/<slug:action>/", views.contract_action, name="contract-action"),
    path("plans/<int:pk>/edit/", views.plan_edit, name="plan-edit"),
    path("plans/<int:pk>/delete/", views.plan_delete, name="plan-delete"),
    path("payments/", views.payment_list, name="payment-list"),
    path("payments/export/", views.payment_export, name="payment-export"),
    path("payments/<int:pk>/delete/", views.payment_delete, name="payment-delete"),
    path("invoices/", views.invoice_list, name="invoice-list"),
    path("invoices/export/", views.invoice_export, name="invoice-export"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice-detail"),
    path("invoices/<int:pk>/<slug:action>/", views.invoice_action, name="invoice-action"),
]
