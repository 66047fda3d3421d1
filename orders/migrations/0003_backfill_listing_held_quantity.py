"""Count the units already held by unpaid reservations in Listing.held_quantity."""

from django.db import migrations
from django.db.models import Sum


def backfill(apps, schema_editor):
    Listing = apps.get_model("marketplace", "Listing")
    Reservation = apps.get_model("orders", "Reservation")
    held = (
        Reservation.objects.filter(status="held")
        .values("listing_id")
        .annotate(units=Sum("quantity"))
    )
    for row in held:
        Listing.objects.filter(pk=row["listing_id"]).update(held_quantity=row["units"])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0002_refund_superseded"),
        ("marketplace", "0002_listing_held_quantity"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
