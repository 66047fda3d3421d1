"""Money arithmetic for orders: Decimal to the cent, half-up; never float."""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

CENT = Decimal("0.01")


def platform_fee(items_total: Decimal, *, percentage: Decimal | None = None) -> Decimal:
    """PLATFORM_FEE_PERCENTAGE of a seller's item total (shipping excluded), half-up to the cent."""
    pct = settings.PLATFORM_FEE_PERCENTAGE if percentage is None else percentage
    return (Decimal(items_total) * Decimal(pct) / Decimal(100)).quantize(CENT, ROUND_HALF_UP)


def to_minor_units(amount: Decimal) -> int:
    """Decimal amount with 2 places -> integer cents (EUR, GBP and USD all have 2 decimals)."""
    return int((Decimal(amount) * 100).quantize(Decimal(1), ROUND_HALF_UP))


def from_minor_units(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)
