"""Messaging factories and shortcuts that drive the real services."""

import factory

from accounts.tests.factories import UserFactory
from marketplace.tests.factories import ListingFactory
from messaging.models import Conversation
from messaging.services import conversation_start, message_send


class ConversationFactory(factory.django.DjangoModelFactory):
    """A conversation between a fresh buyer and the seller of a fresh listing (no messages)."""

    class Meta:
        model = Conversation

    listing = factory.SubFactory(ListingFactory)
    buyer = factory.SubFactory(UserFactory)
    seller = factory.LazyAttribute(lambda c: c.listing.seller)


def conversation_with_messages(buyer, listing, *bodies_by: tuple) -> Conversation:
    """Start `buyer`'s conversation about `listing`, then send (sender, body) pairs."""
    conversation = conversation_start(buyer=buyer, listing_id=listing.pk)
    for sender, body in bodies_by:
        message_send(sender=sender, conversation_id=conversation.pk, body=body)
    conversation.refresh_from_db()
    return conversation
