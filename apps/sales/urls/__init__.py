"""URLs of the sales app (mounted under /sales/): one module per area."""

from . import contracts, deals, leads

app_name = "sales"

urlpatterns = [*leads.urlpatterns, *deals.urlpatterns, *contracts.urlpatterns]
