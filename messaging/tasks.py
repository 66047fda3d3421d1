"""Background tasks of messaging (Django's tasks framework). Each takes ids, calls one
service and is safe to run twice; services enqueue them after commit."""

from django.tasks import task

from messaging.services import delivery


@task()
def deliver_message(message_id: int) -> bool:
    """Publish a stored message's realtime events (messaging.services.message_deliver)."""
    return delivery.message_deliver(message_id=message_id)


@task()
def deliver_unread(user_id: int) -> bool:
    """Publish a member's unread total to their channel (services.unread_deliver)."""
    return delivery.unread_deliver(user_id=user_id)
