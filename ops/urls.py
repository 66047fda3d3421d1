from django.urls import path

from ops import views

app_name = "ops"
urlpatterns = [
    path("api/health", views.api_health, name="api_health"),
    path("api/health/db", views.health_db, name="health_db"),
    path("health", views.health_all, name="health"),
    path("status", views.status_page, name="status"),
    path("ops/analytics/", views.analytics_dashboard, name="analytics"),
    path("dashboard/stats/", views.seller_dashboard, name="seller_stats"),
]
