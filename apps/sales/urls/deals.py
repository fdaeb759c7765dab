"""URLs of the sales app, deals part (mounted under /sales/, namespace "sales")."""

from django.urls import path

from ..views import deals, deals_quotes

urlpatterns: list = [
    path("opportunities/", deals.opportunity_list, name="opportunity-list"),
    path("opportunities/board/", deals.board, name="opportunity-board"),
    path(
        "opportunities/board/stages/<int:stage>/",
        deals.board_column,
        name="opportunity-board-column",
    ),
    path("opportunities/export/", deals.opportunity_export, name="opportunity-export"),
    path("opportunities/new/", deals.opportunity_create, name="opportunity-create"),
    path("opportunities/<int:pk>/", deals.opportunity_detail, name="opportunity-detail"),
    path("opportunities/<int:pk>/edit/", deals.opportunity_edit, name="opportunity-edit"),
    path("opportunities/<int:pk>/move/", deals.opportunity_move, name="opportunity-move"),
    path("opportunities/<int:pk>/delete/", deals.opportunity_delete, name="opportunity-delete"),
    path("forecast/", deals.forecast, name="forecast"),
    path("products/", deals_quotes.product_list, name="product-list"),
    path("products/new/", deals_quotes.product_create, name="product-create"),
    path("products/<int:pk>/", deals_quotes.product_detail, name="product-detail"),
    path("products/<int:pk>/edit/", deals_quotes.product_edit, name="product-edit"),
    path("quotes/", deals_quotes.quote_list, name="quote-list"),
    path("quotes/new/", deals_quotes.quote_create, name="quote-create"),
    path("quotes/<int:pk>/", deals_quotes.quote_detail, name="quote-detail"),
    path("quotes/<int:pk>/edit/", deals_quotes.quote_edit, name="quote-edit"),
    path("quotes/<int:pk>/print/", deals_quotes.quote_print, name="quote-print"),
    path("quotes/<int:pk>/<slug:action>/", deals_quotes.quote_action, name="quote-action"),
]
