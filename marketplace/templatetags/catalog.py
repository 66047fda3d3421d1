"""Display helpers for catalog templates (formatting only, no rules)."""

from decimal import Decimal

from django import template
from django.conf import settings
from django.utils.formats import number_format
from django.utils.safestring import SafeString

from marketplace.cards import render_cards

register = template.Library()

SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


@register.filter
def money(amount: Decimal | None, currency: str | None = None) -> str:
    """12.5, "EUR" -> "€12.50"; without a currency, the site's (settings.CURRENCY)."""
    currency = currency or settings.CURRENCY
    if amount in (None, ""):
        return ""
    value = number_format(Decimal(amount).quantize(Decimal("0.01")), 2, force_grouping=True)
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{value}" if symbol else f"{value} {currency}"


@register.filter
def initial(name: str) -> str:
    return (name or "?")[:1].upper()


@register.filter
def cards(listings) -> list[SafeString]:
    """The listings' card HTML, in order (marketplace.cards: cached by content)."""
    return render_cards(listings)
