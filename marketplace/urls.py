from django.urls import path

from marketplace import views

app_name = "marketplace"
urlpatterns = [
    path("", views.home, name="home"),
    path("browse/", views.browse, name="browse"),
    path("c/<slug:slug>/", views.category, name="category"),
    path("items/new/", views.listing_create, name="listing_create"),
    path("items/<int:pk>-<slug:slug>/", views.listing_detail, name="listing"),
    path("members/<str:username>/", views.seller, name="seller"),
]
