"""Signals between apps that must not import each other.

`listing_thread_event` lets orders tell the conversation between a buyer and a seller about
one listing that something happened (paid, shipped, delivered, an offer made or answered),
without orders importing messaging. Send it after commit; receivers must not raise.

    listing_thread_event.send(
        sender="orders", listing_id=..., buyer_id=..., seller_id=..., kind="order_paid",
        text="Order #12 was paid.", actor_id=...,  # actor_id may be None (the system)
    )
"""

from django.dispatch import Signal

listing_thread_event = Signal()
