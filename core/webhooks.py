"""Inbound webhook events kept by id, so a redelivered event is answered 2xx and applied once.

Every vendor webhook (payments, the identity provider) stores the id of each event it applies
in a table of its own built on `StoredWebhookEvent`, and asks `record_once` first.
"""

from django.db import IntegrityError, models, transaction


class StoredWebhookEvent(models.Model):
    """One applied webhook event, unique by the vendor's event id."""

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        abstract = True
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


def record_once(model: type[StoredWebhookEvent], *, event_id: str, event_type: str) -> bool:
    """Store the event id in `model`; False when it is already stored (a redelivery).

    Call it inside the transaction that applies the event: the row is written in a savepoint,
    so a failure later in that transaction rolls the id back too and the vendor's retry applies
    the event again. A concurrent delivery of the same id waits on the unique index and then
    gets False.
    """
    try:
        with transaction.atomic():
            model.objects.create(event_id=event_id, event_type=event_type)
    except IntegrityError:
        return False
    return True
