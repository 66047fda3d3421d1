"""A person's first visit, in a real browser: sign up, sell an item with two photos, find it.

Also walks the key pages at phone and desktop width: no horizontal scrolling, no script
errors, no serious accessibility violations (axe-core), and a screenshot of each.
"""

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from PIL import Image

from marketplace.models import Listing
from tests.browser.conftest import assert_fits_width, serious_axe_violations

pytestmark = pytest.mark.django_db(transaction=True)


def _photo(path: Path, colour: tuple[int, int, int]) -> Path:
    image = Image.new("RGB", (900, 1200), colour)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


def test_newcomer_signs_up_sells_an_item_with_two_photos_and_finds_it_browsing(
    live_server, phone, tmp_path, mailoutbox
):
    """On a 360 px phone: sign up, type the emailed code, list an item with two photos, see it
    on the browse page."""
    call_command("seed_demo", "--listings", "0", verbosity=0)
    page = phone
    page.goto(f"{live_server.url}/accounts/signup/")
    page.fill("input[name=email]", "nadia@example.test")
    page.fill("input[name=username]", "nadia.closet")
    page.fill("input[name=password1]", "linen-summer-2026")
    page.fill("input[name=password2]", "linen-summer-2026")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_load_state()
    assert "/accounts/signup/" not in page.url
    # Sign-up answers "check your inbox" (enumeration prevention): the code from the email
    # the site really sent (the test mail outbox) is typed on the page it opened.
    (message,) = [m for m in mailoutbox if m.to == ["nadia@example.test"]]
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", message.body, re.M)[1]
    page.fill("input[name=code]", code)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()
    assert "/accounts/confirm-email/" not in page.url

    page.goto(f"{live_server.url}/items/new/")
    assert_fits_width(page)
    page.fill("input[name=title]", "Green corduroy jacket")
    category_value = page.eval_on_selector(
        "select[name=category]", "s => [...s.options].find(o => o.value).value"
    )
    page.select_option("select[name=category]", category_value)
    page.fill("input[name=brand]", "Carhartt")
    page.fill("input[name=size]", "M")
    page.select_option("select[name=condition]", "like_new")
    page.fill("input[name=price]", "45.50")
    page.set_input_files(
        "input[name=images]",
        [
            _photo(tmp_path / "front.jpg", (40, 90, 60)),
            _photo(tmp_path / "back.jpg", (60, 110, 80)),
        ],
    )
    page.get_by_role("button", name="Publish").click()
    page.wait_for_load_state()

    listing = Listing.objects.get(title="Green corduroy jacket")
    assert listing.status == Listing.Status.ACTIVE
    assert listing.images.count() == 2
    assert page.url.endswith(listing.get_absolute_url())
    assert page.get_by_role("heading", name="Green corduroy jacket").is_visible()

    page.goto(f"{live_server.url}/browse/?brand=Carhartt")
    card = page.get_by_role("link", name="Green corduroy jacket")
    assert card.first.is_visible()
    assert_fits_width(page)
    assert page.js_errors == []


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_key_pages_fit_the_screen_and_pass_an_accessibility_audit(
    live_server, request, viewport, screenshot_dir
):
    """Home, browse and an item page: no sideways scroll, no script error, no serious axe issue."""
    call_command("seed_demo", verbosity=0)
    page = request.getfixturevalue(viewport)
    listing = Listing.objects.for_sale().order_by("-price").first()
    pages = {
        "home": "/",
        "browse": "/browse/",
        "listing": listing.get_absolute_url(),
    }
    width = page.viewport_size["width"]
    for name, path in pages.items():
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
        assert_fits_width(page)
        assert serious_axe_violations(page) == [], path
        # Scroll through once so lazy-loaded photos are in the full-page screenshot.
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_load_state("networkidle")
        page.evaluate("window.scrollTo(0, 0)")
        shot = screenshot_dir / f"{name}-{width}.png"
        page.screenshot(path=str(shot), full_page=name != "home" or width > 400)
        assert shot.stat().st_size > 10_000
    assert page.js_errors == []


def test_accessibility_audit_reports_an_image_without_alt_text(phone):
    """The axe-core audit used above really flags a serious problem when there is one."""
    phone.set_content('<html lang="en"><body><main><img src="data:,"></main></body></html>')
    violations = serious_axe_violations(phone)
    assert any(v.startswith("image-alt") for v in violations)
