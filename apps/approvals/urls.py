from django.urls import path

from . import views

app_name = "approvals"
urlpatterns = [
    path("", views.my_requests, name="mine"),
    path("inbox/", views.inbox, name="inbox"),
    path("cc/", views.cc_list, name="cc"),
    path("new/", views.choose_template, name="new"),
    path("new/<slug:code>/", views.start, name="start"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/tasks/<int:task_pk>/", views.task_action, name="task-action"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/comment/", views.comment, name="comment"),
    path("<int:pk>/resubmit/", views.resubmit, name="resubmit"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
]
