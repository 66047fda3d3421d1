"""Touch and motion (static/js/touch.js, static/css/motion.css) in a phone-sized Chromium with
a touch screen: pull-to-refresh, loading skeletons and reduced motion."""

from collections.abc import Iterator

import pytest

from marketplace.tests.factories import ListingFactory
from tests.browser.conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def touch_phone(browser) -> Iterator:
    """A 360 px phone with a touch screen, and a CDP session to put fingers on it."""
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.cdp = context.new_cdp_session(page)
    yield page
    context.close()


def _drag(page, *, distance: int, steps: int = 8, x: int = 180, y: int = 80) -> None:
    """A finger pressed at (x, y), moved `distance` px down in `steps`, then lifted."""
    page.cdp.send(
        "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]}
    )
    for step in range(1, steps + 1):
        point = {"x": x, "y": y + distance * step // steps}
        page.cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    page.cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_pull_down_at_the_top_of_the_home_feed_reloads_it(live_server, touch_phone):
    """On the home page a long pull from the top shows "Release to refresh", then reloads."""
    ListingFactory(title="Striped sailor top")
    touch_phone.goto(f"{live_server.url}/")
    touch_phone.evaluate("window.notReloaded = true")
    with touch_phone.expect_navigation():
        _drag(touch_phone, distance=300)
    assert touch_phone.evaluate("window.notReloaded === undefined")


def test_pull_on_browse_refreshes_the_results_with_htmx_and_shows_the_indicator(
    live_server, touch_phone
):
    """On browse a pull past the threshold arms the indicator, then fetches the results
    fragment again with htmx (no page reload) and swaps it in."""
    ListingFactory(title="Wool duffle coat")
    touch_phone.goto(f"{live_server.url}/browse/")
    touch_phone.evaluate("window.notReloaded = true")
    touch_phone.evaluate("document.querySelector('#results .grid').dataset.old = 'yes'")
    touch_phone.cdp.send(
        "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": 180, "y": 80}]}
    )
    touch_phone.cdp.send(
        "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": 180, "y": 380}]}
    )
    indicator = touch_phone.locator(".pull-refresh")
    assert indicator.get_attribute("data-state") == "armed"
    assert indicator.inner_text() == "Release to refresh"
    with touch_phone.expect_request(
        lambda request: "/browse/" in request.url and request.headers.get("hx-request") == "true"
    ):
        touch_phone.cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    touch_phone.wait_for_function("() => !document.querySelector('#results .grid[data-old]')")
    touch_phone.wait_for_function(
        "() => document.querySelector('.pull-refresh').dataset.state === 'idle'"
    )
    assert touch_phone.get_by_text("Wool duffle coat").is_visible()
    assert touch_phone.evaluate("window.notReloaded") is True


def test_a_short_pull_or_a_pull_away_from_the_top_does_nothing(live_server, touch_phone):
    """Below the threshold, or with the page scrolled down, letting go refreshes nothing."""
    for n in range(12):
        ListingFactory(title=f"Item {n}")
    touch_phone.goto(f"{live_server.url}/browse/")
    touch_phone.evaluate("document.querySelector('#results .grid').dataset.old = 'yes'")
    requests = []
    touch_phone.on("request", lambda request: requests.append(request.url))
    _drag(touch_phone, distance=60)
    touch_phone.evaluate("window.scrollTo(0, 400)")
    _drag(touch_phone, distance=300)
    touch_phone.evaluate("() => new Promise(requestAnimationFrame)")
    assert [url for url in requests if "/browse/" in url] == []
    assert touch_phone.locator("#results .grid[data-old]").count() == 1


def test_mouse_drag_never_pulls_to_refresh(live_server, desktop):
    """A mouse dragged down from the top of the page shows no indicator and reloads nothing."""
    desktop.goto(f"{live_server.url}/")
    desktop.evaluate("window.notReloaded = true")
    desktop.mouse.move(600, 100)
    desktop.mouse.down()
    desktop.mouse.move(600, 500, steps=10)
    desktop.mouse.up()
    assert desktop.locator(".pull-refresh").count() == 0
    assert desktop.evaluate("window.notReloaded") is True


def test_results_show_card_skeletons_while_htmx_loads_them(live_server, phone):
    """While htmx fetches results the old cards give way to placeholder cards and the region
    is aria-busy; once swapped the skeletons are gone."""
    ListingFactory(title="Denim jacket")
    phone.goto(f"{live_server.url}/browse/")
    during = phone.evaluate(
        """() => {
            htmx.ajax("GET", location.href, {target: "#results", swap: "innerHTML"});
            const results = document.getElementById("results");
            const oldGrid = results.querySelector(".grid:not(.skeleton-grid)");
            return {
                skeletons: results.querySelectorAll(".skeleton-card").length,
                busy: results.getAttribute("aria-busy"),
                oldCardsShown: getComputedStyle(oldGrid).display,
            };
        }"""
    )
    assert during == {"skeletons": 8, "busy": "true", "oldCardsShown": "none"}
    phone.wait_for_function("() => !document.querySelector('#results .skeleton-card')")
    assert phone.get_attribute("#results", "aria-busy") is None
    assert phone.get_by_text("Denim jacket").is_visible()


@pytest.mark.parametrize(("motion", "duration"), [("no-preference", "0.15s"), ("reduce", "0s")])
def test_card_transitions_only_without_reduced_motion(live_server, phone, motion, duration):
    """Cards animate on hover/press only when the visitor has not asked for reduced motion."""
    ListingFactory(title="Leather belt")
    phone.emulate_media(reduced_motion=motion)
    phone.goto(f"{live_server.url}/browse/")
    got = phone.eval_on_selector(
        ".listing-card", "card => getComputedStyle(card).transitionDuration"
    )
    assert got == duration
