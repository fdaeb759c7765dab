"""URLs of the sales app, leads part (mounted under /sales/, namespace "sales")."""

urlpatterns: list = []
