from django.urls import path, re_path

from orders import views, views_reviews, webhooks

app_name = "orders"
urlpatterns = [
    path("cart/", views.cart, name="cart"),
    path("cart/add/<int:pk>/", views.cart_add, name="cart_add"),
    path("cart/update/<int:pk>/", views.cart_update, name="cart_update"),
    path("cart/remove/<int:pk>/", views.cart_remove, name="cart_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/<uuid:public_id>/test-payment/", views.test_payment, name="test_payment"),
    path("checkout/<uuid:public_id>/return/", views.checkout_return, name="checkout_return"),
    path("checkout/<uuid:public_id>/cancel/", views.checkout_cancel, name="checkout_cancel"),
    path("checkout/<uuid:public_id>/done/", views.checkout_done, name="checkout_done"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path(
        "orders/<int:pk>/confirm-delivery/",
        views.order_confirm_delivery,
        name="order_confirm_delivery",
    ),
    path("orders/<int:pk>/cancel/", views.order_cancel, name="order_cancel"),
    path("orders/<int:pk>/ship/", views.order_ship, name="order_ship"),
    path("orders/<int:pk>/refund/", views.order_refund, name="order_refund"),
    path("orders/<int:pk>/review/", views_reviews.order_review, name="order_review"),
    path("reviews/<int:pk>/reply/", views_reviews.review_reply, name="review_reply"),
    path("reviews/<int:pk>/report/", views_reviews.review_report, name="review_report"),
    re_path(
        r"^members/(?P<username>[\w.-]{1,30})/reviews/$",
        views_reviews.seller_reviews,
        name="seller_reviews",
    ),
    path("sales/", views.sales_list, name="sales_list"),
    path("sales/payments/", views.seller_payments, name="seller_payments"),
    path("sales/payments/return/", views.seller_payments_return, name="seller_payments_return"),
    path("items/<int:pk>/offer/", views.offer_make, name="offer_make"),
    path("items/<int:pk>/offer-likers/", views.offer_likers, name="offer_likers"),
    path("offers/", views.offer_list, name="offer_list"),
    path("offers/<int:pk>/respond/", views.offer_respond, name="offer_respond"),
    path("api/webhooks/payments", webhooks.payments_webhook, name="payments_webhook"),
]
