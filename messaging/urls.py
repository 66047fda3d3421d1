from django.urls import path

from messaging import views

app_name = "messaging"
urlpatterns = [
    path("messages/", views.inbox, name="inbox"),
    path("messages/poll/", views.inbox_poll, name="inbox_poll"),
    path("messages/badge/", views.badge, name="badge"),
    path("messages/start/<int:pk>/", views.conversation_start, name="start"),
    path("messages/<int:pk>/", views.conversation, name="conversation"),
    path("messages/<int:pk>/poll/", views.conversation_poll, name="poll"),
    path("messages/<int:pk>/send/", views.message_send, name="send"),
    path("messages/<int:pk>/block/", views.conversation_block, name="block"),
    path("messages/<int:pk>/unblock/", views.conversation_unblock, name="unblock"),
    path("messages/<int:pk>/report/", views.conversation_report, name="report"),
]
