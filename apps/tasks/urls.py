from .calendar_urls import urlpatterns as calendar_urlpatterns

app_name = "tasks"

urlpatterns: list = [*calendar_urlpatterns]
