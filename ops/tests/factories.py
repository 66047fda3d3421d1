"""Small builders for ops tests (kept here so ops tests don't depend on other apps' factories)."""

import itertools
from decimal import Decimal

from django.utils import timezone

from accounts.tests.factories import UserFactory
from marketplace.models import Category, Listing

_seq = itertools.count()


def make_listing(*, seller=None, **fields) -> Listing:
    n = next(_seq)
    category, _ = Category.objects.get_or_create(slug="ops-test", defaults={"name": "Ops test"})
    values = {
        "seller": seller or UserFactory(),
        "title": f"Denim jacket {n}",
        "category": category,
        "condition": Listing.Condition.GOOD,
        "price": Decimal("25.00"),
        "status": Listing.Status.ACTIVE,
        "published_at": timezone.now(),
    }
    values.update(fields)
    return Listing.objects.create(**values)
