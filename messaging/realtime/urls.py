from django.urls import path

from messaging.realtime import views

app_name = "realtime"

urlpatterns = [
    path("pusher/auth", views.pusher_auth, name="pusher_auth"),
]
