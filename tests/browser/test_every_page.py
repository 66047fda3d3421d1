"""Every page a shopper, a seller and an operator meet, at phone and desktop width.

Each page must answer with the expected status, fit the screen without sideways scrolling,
log no script error and pass the axe-core audit with no serious or critical violation. All
problems are gathered and reported together, and a screenshot of each page is kept.
"""

import pytest
from django.core.management import call_command

from marketplace.models import Category, Listing
from orders.models import Order
from orders.rules import offer_floor
from tests.browser.conftest import log_in, serious_axe_violations

pytestmark = pytest.mark.django_db(transaction=True)
MISSING_DOCUMENT = "the server responded with a status of 404"


class _Audit:
    """Visits pages and records what is wrong with each instead of stopping at the first."""

    def __init__(self, page, base: str, screenshot_dir) -> None:
        self.page, self.base, self.screenshot_dir = page, base, screenshot_dir
        self.width = page.viewport_size["width"]
        self.problems: list[str] = []

    def visit(self, name: str, path: str, *, status: int = 200) -> None:
        response = self.page.goto(f"{self.base}{path}")
        self.check(name, response.status if response else None, status=status)

    def check(self, name: str, got_status: int | None = 200, *, status: int = 200) -> None:
        page = self.page
        where = f"{name} ({self.width}px, {page.url})"
        page.wait_for_load_state("load")
        if got_status != status:
            self.problems.append(f"{where}: status {got_status}, expected {status}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            self.problems.append(f"{where}: scrolls sideways by {overflow}px")
        errors = [e for e in page.js_errors if not (status == 404 and MISSING_DOCUMENT in e)]
        self.problems += [f"{where}: script error {error}" for error in errors]
        page.js_errors.clear()
        self.problems += [f"{where}: {v}" for v in serious_axe_violations(page)]
        shot = self.screenshot_dir / f"page-{name}-{self.width}.png"
        page.screenshot(path=str(shot), full_page=True)


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_every_page_fits_the_screen_and_passes_an_accessibility_audit(
    live_server, request, viewport, screenshot_dir
):
    """Anonymous, buyer, seller and operator pages: right status, no sideways scroll, no
    script error, no serious axe violation."""
    call_command("seed_demo", verbosity=0)
    page, base = request.getfixturevalue(viewport), live_server.url
    audit = _Audit(page, base, screenshot_dir)
    category = Category.objects.filter(listings__isnull=False).distinct().first()
    mine = Listing.objects.visible().filter(seller__email="seller1@threadly.test").first()

    audit.visit("login", "/accounts/login/")
    audit.visit("signup", "/accounts/signup/")
    audit.visit("password-reset", "/accounts/password/reset/")
    audit.visit("category", category.get_absolute_url())
    audit.visit("seller", "/members/mila.vintage/")
    audit.visit("status", "/status")
    audit.visit("help", "/help/")
    audit.visit("help-search", "/help/?q=refund")
    audit.visit("help-article", "/help/buyer-protection/")
    audit.visit("not-found", "/no-such-page/", status=404)

    log_in(page, base, "buyer@threadly.test")
    for username in ("mila.vintage", "oskar.threads"):
        listing = (
            Listing.objects.for_sale().filter(seller__username=username).order_by("pk").first()
        )
        page.goto(f"{base}{listing.get_absolute_url()}")
        page.get_by_role("button", name="Add to cart").click()
        page.wait_for_load_state()
    audit.visit("cart", "/cart/")
    audit.visit("checkout", "/checkout/")
    page.fill("input[name=full_name]", "Sam Buyer")
    page.fill("input[name=line1]", "1 Liffey Street")
    page.fill("input[name=city]", "Dublin")
    page.fill("input[name=postcode]", "D01 F5P2")
    page.select_option("select[name=country]", "IE")
    page.fill("input[name=phone]", "+353 1 234 5678")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url("**/test-payment/")
    audit.check("test-payment")
    page.get_by_role("button", name="Approve test payment").click()
    page.wait_for_load_state()
    order = Order.objects.filter(buyer__email="buyer@threadly.test").order_by("pk").first()
    audit.visit("order-list", "/orders/")
    audit.visit("order-detail", order.get_absolute_url())
    audit.visit("saved", "/saved/")
    wanted = Listing.objects.for_sale().filter(seller__username="mila.vintage").order_by("-pk")[0]
    audit.visit("listing-offer", wanted.get_absolute_url())
    audit.visit("offer-make", f"/items/{wanted.pk}/offer/")
    page.fill("input[name=amount]", str(offer_floor(wanted.price)))
    page.get_by_role("button", name="Send offer").click()
    page.wait_for_url("**/offers/")
    audit.check("offers-sent")
    audit.visit("dashboard", "/me/")
    audit.visit("profile-edit", "/me/profile/")
    audit.visit("feed-empty", "/following/")
    audit.visit("followers", "/members/mila.vintage/followers/")
    audit.visit("reviews", "/members/mila.vintage/reviews/")

    log_in(page, base, "seller1@threadly.test")
    audit.visit("sell", "/items/new/")
    audit.visit("my-listings", "/my/listings/")
    audit.visit("listing-edit", f"/items/{mine.pk}/edit/")
    audit.visit("sales", "/sales/")
    audit.visit("payouts", "/sales/payments/")
    audit.visit("seller-stats", "/dashboard/stats/")
    audit.visit("offers-received", "/offers/")

    log_in(page, base, "admin@threadly.test")
    audit.visit("analytics", "/ops/analytics/")

    assert audit.problems == []
