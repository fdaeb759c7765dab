"""URLs of the sales app, deals part (mounted under /sales/, namespace "sales")."""

urlpatterns: list = []
