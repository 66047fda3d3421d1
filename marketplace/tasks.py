"""Background tasks of the catalog (Django's tasks framework). Each takes ids and plain
values, loads the rows and calls a service; each is safe to run twice."""

from decimal import Decimal

from django.tasks import task

from marketplace.services.price_drops import price_drop_notify


@task
def listing_price_dropped(listing_id: int, old_price: str, new_price: str) -> int:
    """Tell the members who saved the listing that its price went down (prices as strings:
    task arguments are JSON)."""
    return price_drop_notify(
        listing_id=listing_id, old_price=Decimal(old_price), new_price=Decimal(new_price)
    )
