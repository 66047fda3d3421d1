from django.urls import path

from accounts import views, webhooks

app_name = "accounts"
urlpatterns = [
    path("me/", views.dashboard, name="dashboard"),
    path("me/profile/", views.profile_edit, name="profile_edit"),
    path("email/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("api/webhooks/auth", webhooks.auth_webhook, name="auth_webhook"),
]
