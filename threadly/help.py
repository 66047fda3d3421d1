"""The help centre: short pages about Threadly's real rules, at /help/ and /help/<slug>/.

Static content, not a domain: it lives with the project (threadly/) rather than in an app. The
registry below names each page (slug, title, summary, keywords); its text is the template
templates/help/<slug>.html, rendered with `help_facts()` so the numbers it quotes (the fee,
the protection window, the reservation time, …) are the ones the code uses.

/help/?q= searches titles, summaries, keywords and page text, ignoring case and accents; a
page matches when every word of the query is found somewhere in it.
"""

import html
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parseaddr
from functools import cache

from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.html import strip_tags
from django.views.decorators.http import require_safe

from marketplace.models import MAX_PRICE, MIN_PRICE
from orders.money import platform_fee


@dataclass(frozen=True)
class HelpPage:
    slug: str
    title: str
    summary: str
    keywords: tuple[str, ...]

    @property
    def template(self) -> str:
        return f"help/{self.slug}.html"


PAGES: tuple[HelpPage, ...] = (
    HelpPage(
        "buying",
        "Buying on Threadly",
        "Find an item, add it to your cart and pay once for everything, safely.",
        ("buy", "cart", "checkout", "order", "reserved", "sold", "cancel", "holiday"),
    ),
    HelpPage(
        "selling",
        "Selling on Threadly",
        "List an item in a few minutes, get paid through Stripe when the buyer has it.",
        ("sell", "listing", "photos", "price", "draft", "payouts", "stripe", "holiday mode"),
    ),
    HelpPage(
        "buyer-protection",
        "Payments and buyer protection",
        "Your money is held until you confirm the item arrived as described.",
        ("payment", "pay", "card", "stripe", "protection", "held", "payout", "safe"),
    ),
    HelpPage(
        "shipping",
        "Shipping",
        "How shipping is priced, when the seller ships and how to follow your parcel.",
        ("postage", "delivery", "parcel", "tracking", "carrier", "address", "ship"),
    ),
    HelpPage(
        "returns-and-disputes",
        "Returns, refunds and disputes",
        "What to do when an item doesn't arrive or isn't as described.",
        ("return", "refund", "dispute", "chargeback", "not as described", "missing", "damaged"),
    ),
    HelpPage(
        "fees",
        "Fees",
        "Buying costs the item and its shipping; sellers pay a small fee when they sell.",
        ("fee", "commission", "cost", "charge", "percentage", "free", "price"),
    ),
    HelpPage(
        "safety",
        "Staying safe",
        "Pay on Threadly, keep your details private and report anything suspicious.",
        ("scam", "fraud", "report", "counterfeit", "fake", "phishing", "moderation", "ban"),
    ),
    HelpPage(
        "account",
        "Your account",
        "Signing up, verifying your email, your profile, emails and password.",
        ("sign up", "register", "login", "verify", "code", "password", "email", "profile"),
    ),
)
PAGES_BY_SLUG = {page.slug: page for page in PAGES}


def _plain_number(value: Decimal) -> str:
    """Decimal("5") -> "5", Decimal("2.50") -> "2.5"."""
    text = f"{value.normalize():f}"
    return text


def help_facts() -> dict[str, object]:
    """The numbers and addresses the help pages quote, from the settings the code runs with."""
    example_price, example_shipping = Decimal("20.00"), Decimal("3.50")
    example_fee = platform_fee(example_price)
    return {
        "fee_percent": _plain_number(Decimal(settings.PLATFORM_FEE_PERCENTAGE)),
        "example_price": example_price,
        "example_shipping": example_shipping,
        "example_fee": example_fee,
        "example_payout": example_price + example_shipping - example_fee,
        "auto_complete_days": settings.ORDER_AUTO_COMPLETE_DAYS,
        "reservation_minutes": settings.RESERVATION_TTL_MINUTES,
        "max_photos": settings.LISTING_IMAGES_MAX,
        "max_photo_mb": settings.LISTING_IMAGE_MAX_BYTES // (1024 * 1024),
        "min_price": MIN_PRICE,
        "max_price": MAX_PRICE,
        "lockout_attempts": settings.LOGIN_LOCKOUT_ATTEMPTS,
        "lockout_minutes": settings.LOGIN_LOCKOUT_MINUTES,
        "support_email": parseaddr(settings.DEFAULT_FROM_EMAIL)[1],
    }


def fold(text: str) -> str:
    """Lower case without accents, spaces collapsed: "Retours  Évités" -> "retours evites"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())


@cache
def _page_text(slug: str, facts: tuple[tuple[str, str], ...]) -> str:
    rendered = render_to_string(PAGES_BY_SLUG[slug].template, dict(facts))
    return fold(html.unescape(strip_tags(rendered)))


def help_page_text(page: HelpPage) -> str:
    """The page's visible text, folded for search (cached per page and facts)."""
    facts = tuple((name, str(value)) for name, value in help_facts().items())
    return _page_text(page.slug, facts)


def help_search(query: str) -> list[HelpPage]:
    """Pages containing every word of `query`, those matching in title, summary or keywords
    first, then in registry order. An empty query gives every page."""
    terms = fold(query).split()
    if not terms:
        return list(PAGES)
    ranked = []
    for position, page in enumerate(PAGES):
        heading = fold(" ".join((page.title, page.summary, *page.keywords)))
        score = 0
        for term in terms:
            if term in heading:
                score += 2
            elif term in help_page_text(page):
                score += 1
            else:
                break
        else:
            ranked.append((-score, position, page))
    return [page for _score, _position, page in sorted(ranked, key=lambda row: row[:2])]


class HelpSearchForm(forms.Form):
    q = forms.CharField(label="Search the help centre", max_length=100, required=False)


@require_safe
def help_index(request: HttpRequest) -> HttpResponse:
    form = HelpSearchForm(request.GET or None)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    return render(
        request,
        "help/index.html",
        {"form": form, "query": query, "pages": help_search(query), "total": len(PAGES)},
    )


@require_safe
def help_page(request: HttpRequest, slug: str) -> HttpResponse:
    page = PAGES_BY_SLUG.get(slug)
    if page is None:
        raise Http404("No such help page.")
    return render(
        request,
        "help/page.html",
        {
            "page": page,
            "others": [other for other in PAGES if other.slug != slug],
            **help_facts(),
        },
    )
