"""URLs of the sales app, contracts part (mounted under /sales/, namespace "sales")."""

urlpatterns: list = []
