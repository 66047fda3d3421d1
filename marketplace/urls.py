from django.urls import path, re_path

from marketplace import views, views_follows

app_name = "marketplace"
urlpatterns = [
    path("", views.home, name="home"),
    path("browse/", views.browse, name="browse"),
    path("api/search/suggest", views.search_suggest, name="search_suggest"),
    path("c/<slug:slug>/", views.category, name="category"),
    path("items/new/", views.listing_create, name="listing_create"),
    path("items/<int:pk>-<slug:slug>/", views.listing_detail, name="listing"),
    path("items/<int:pk>/edit/", views.listing_edit, name="listing_edit"),
    path("items/<int:pk>/photos/add/", views.listing_images_add, name="listing_images_add"),
    path(
        "items/<int:pk>/photos/order/",
        views.listing_images_reorder,
        name="listing_images_reorder",
    ),
    path(
        "items/<int:pk>/photos/<int:image_pk>/remove/",
        views.listing_image_remove,
        name="listing_image_remove",
    ),
    re_path(
        r"^items/(?P<pk>[0-9]+)/(?P<action>publish|unpublish|mark_sold|delete)/$",
        views.listing_action,
        name="listing_action",
    ),
    path("items/<int:pk>/favourite/", views.favourite_toggle, name="favourite"),
    # Handles are letters, digits, dots, dashes and underscores; nothing else reaches the database.
    re_path(r"^members/(?P<username>[\w.-]{1,30})/$", views.seller, name="seller"),
    re_path(
        r"^members/(?P<username>[\w.-]{1,30})/follow/$",
        views_follows.follow_toggle,
        name="follow",
    ),
    re_path(
        r"^members/(?P<username>[\w.-]{1,30})/followers/$",
        views_follows.followers,
        name="followers",
    ),
    re_path(
        r"^members/(?P<username>[\w.-]{1,30})/following/$",
        views_follows.following_list,
        name="following_list",
    ),
    path("following/", views_follows.feed, name="feed"),
    path("my/listings/", views.my_listings, name="my_listings"),
    path("saved/", views.favourites, name="favourites"),
    path("saved-searches/", views.saved_searches, name="saved_searches"),
    path("saved-searches/<int:pk>/delete/", views.saved_search_delete, name="saved_search_delete"),
]
