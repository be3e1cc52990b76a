from __future__ import annotations

from django.urls import path

from whistles import views

app_name = "whistles"
urlpatterns = [
    path("", views.board, name="board"),
    path("new/", views.blow, name="blow"),
    path("inbox/", views.inbox, name="inbox"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/close/", views.close, name="close"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/tasks/", views.task_assign, name="task_assign"),
    path("summons/<int:pk>/acknowledge/", views.summons_acknowledge, name="acknowledge"),
    path("summons/<int:pk>/check-in/", views.summons_check_in, name="check_in"),
    path("tasks/<int:pk>/reply/", views.task_reply, name="task_reply"),
]
