"""Keyboard shortcuts (static/js/shortcuts.js) in headless Chromium at desktop width."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def _focused_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_slash_focuses_the_header_search_box(live_server, desktop):
    """/ anywhere on the page moves focus to the search box without typing a slash."""
    desktop.goto(f"{live_server.url}/browse/")
    desktop.keyboard.press("/")
    assert _focused_id(desktop) == "site-search"
    assert desktop.input_value("#site-search") == ""


def test_typing_a_slash_in_the_search_box_types_a_slash(live_server, desktop):
    """In the search box / is just a character (and g then h does not leave the page)."""
    desktop.goto(f"{live_server.url}/browse/")
    desktop.click("#site-search")
    desktop.keyboard.type("tops/gh?")
    assert desktop.input_value("#site-search") == "tops/gh?"
    assert desktop.url == f"{live_server.url}/browse/"
    assert desktop.locator("dialog[open]").count() == 0


def test_g_then_h_goes_home(live_server, desktop):
    """g then h opens the home page."""
    desktop.goto(f"{live_server.url}/browse/")
    with desktop.expect_navigation():
        desktop.keyboard.press("g")
        desktop.keyboard.press("h")
    assert desktop.url == f"{live_server.url}/"


def test_g_then_c_goes_to_the_cart(live_server, desktop):
    """g then c opens the cart."""
    desktop.goto(f"{live_server.url}/")
    with desktop.expect_navigation():
        desktop.keyboard.press("g")
        desktop.keyboard.press("c")
    assert desktop.url == f"{live_server.url}/cart/"


def test_shortcuts_ignore_ctrl_meta_and_alt(live_server, desktop):
    """With Ctrl, Meta or Alt held the keys belong to the browser: nothing happens."""
    desktop.goto(f"{live_server.url}/browse/")
    for modifier in ("Control", "Meta", "Alt"):
        desktop.keyboard.press(f"{modifier}+/")
        desktop.keyboard.press(f"{modifier}+Shift+?")
    desktop.keyboard.press("Control+g")
    desktop.keyboard.press("h")
    assert _focused_id(desktop) != "site-search"
    assert desktop.locator("dialog[open]").count() == 0
    assert desktop.url == f"{live_server.url}/browse/"


def test_question_mark_opens_an_accessible_dialog_that_traps_and_returns_focus(
    live_server, desktop
):
    """? opens a modal dialog named "Keyboard shortcuts" listing them; Tab stays inside;
    Escape closes it and focus returns to where it was."""
    desktop.goto(f"{live_server.url}/browse/")
    desktop.get_by_role("link", name="Browse").last.focus()
    desktop.keyboard.press("?")
    dialog = desktop.get_by_role("dialog", name="Keyboard shortcuts")
    assert dialog.is_visible()
    assert dialog.evaluate("d => d.matches(':modal')")
    for text in ("Search", "Go to the home page", "Go to your cart"):
        assert dialog.get_by_text(text).is_visible()
    close = dialog.get_by_role("button", name="Close")
    assert close.evaluate("b => b === document.activeElement")
    for key in ("Tab", "Tab", "Shift+Tab"):
        desktop.keyboard.press(key)
        assert dialog.evaluate("d => d.contains(document.activeElement)"), key
    desktop.keyboard.press("/")  # other shortcuts rest while the dialog is open
    assert dialog.evaluate("d => d.contains(document.activeElement)")
    desktop.keyboard.press("Escape")
    assert desktop.locator("dialog[open]").count() == 0
    assert desktop.evaluate("document.activeElement.textContent.trim()") == "Browse"
    assert desktop.js_errors == []


def test_shortcuts_dialog_closes_with_its_button(live_server, desktop):
    """The Close button closes the dialog too, and ? opens it again."""
    desktop.goto(f"{live_server.url}/")
    desktop.keyboard.press("?")
    desktop.get_by_role("button", name="Close").click()
    assert desktop.locator("dialog[open]").count() == 0
    desktop.keyboard.press("?")
    assert desktop.get_by_role("dialog", name="Keyboard shortcuts").is_visible()
