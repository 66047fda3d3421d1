"""Saved searches: saving the browse page's filters, the list, deleting, and the daily digest."""

import re
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailKind, EmailOptOut
from accounts.services import email_opt_out
from accounts.tests.factories import UserFactory
from marketplace.exceptions import SavedSearchError
from marketplace.models import Listing, SavedSearch
from marketplace.services import saved_searches as service
from marketplace.services.saved_searches import (
    DIGEST_ITEMS_PER_SEARCH,
    SAVED_SEARCHES_MAX,
    saved_search_create,
    saved_search_delete,
    saved_search_digest_send,
    saved_searches_digest_run,
)
from marketplace.tests.factories import CategoryFactory, ListingFactory, ListingImageFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/saved-searches/"


def saved(user, *, ago: timedelta = timedelta(hours=2), **params) -> SavedSearch:
    """A saved search of `user` made `ago` (listings published since then are new to it)."""
    search, _created = saved_search_create(user=user, params=params)
    SavedSearch.objects.filter(pk=search.pk).update(created_at=timezone.now() - ago)
    search.refresh_from_db()
    return search


def published(title: str, *, ago: timedelta = timedelta(minutes=30), **fields) -> Listing:
    return ListingFactory(title=title, published_at=timezone.now() - ago, **fields)


# --- Saving -----------------------------------------------------------------------------------
def test_save_search_default_name_summarises_the_filters(buyer):
    """Without a name, the search is named after its filters ("levis · M · under €50")."""
    search, created = saved_search_create(
        user=buyer, params={"q": "  Levis ", "size": "M", "max_price": "50.00"}
    )
    assert created
    assert search.name == "levis · M · under €50"
    assert search.query == "q=levis&size=M&max_price=50"
    assert search.get_absolute_url() == "/browse/?q=levis&size=M&max_price=50"


def test_save_search_keeps_the_given_name(buyer):
    """A name the shopper typed is kept (whitespace tidied)."""
    search, _created = saved_search_create(
        user=buyer, params={"brand": "Zara"}, name="  Zara   for work "
    )
    assert search.name == "Zara for work"


def test_save_search_drops_unknown_invalid_and_sort_params(buyer):
    """Only valid known filters are stored: junk, bad values, an unknown category and the sort
    are dropped."""
    search, _created = saved_search_create(
        user=buyer,
        params={
            "q": "coat",
            "condition": "bogus",
            "min_price": "cheap",
            "category": "no-such-category",
            "colour": "red",
            "sort": "price_asc",
            "page": "3",
        },
    )
    assert search.query == "q=coat"


def test_save_search_keeps_a_category_and_prices(buyer):
    """A real category, a condition and a price range are kept, in a fixed order."""
    CategoryFactory(name="Jackets", slug="jackets")
    search, _created = saved_search_create(
        user=buyer,
        params={"min_price": "10", "max_price": "40.5", "condition": "good", "category": "jackets"},
    )
    assert search.query == "category=jackets&condition=good&min_price=10&max_price=40.5"
    assert search.name == "Jackets · Good · €10–€40.50"


def test_save_search_with_no_valid_filter_is_refused(buyer):
    """Nothing left to search on after validation: a clear error, nothing saved."""
    with pytest.raises(SavedSearchError, match="choose a filter"):
        saved_search_create(user=buyer, params={"sort": "newest", "condition": "bogus"})
    assert not SavedSearch.objects.exists()


def test_saving_the_same_filters_twice_returns_the_existing_search(buyer):
    """The same filters (whatever the case, spacing or order) are one saved search."""
    first, created = saved_search_create(user=buyer, params={"q": "Levis", "size": "M"})
    again, created_again = saved_search_create(
        user=buyer, params={"size": "M", "q": " levis  ", "sort": "price_asc"}, name="Other"
    )
    assert created
    assert not created_again
    assert again.pk == first.pk
    assert SavedSearch.objects.count() == 1


def test_two_members_may_save_the_same_search(buyer, stranger):
    """Uniqueness is per member."""
    saved_search_create(user=buyer, params={"q": "levis"})
    saved_search_create(user=stranger, params={"q": "levis"})
    assert SavedSearch.objects.count() == 2


def test_saved_searches_are_capped_per_member(buyer):
    """Past SAVED_SEARCHES_MAX a new search is refused with a message naming the limit; an
    existing one can still be "saved" again."""
    SavedSearch.objects.bulk_create(
        SavedSearch(user=buyer, name=f"s{n}", query=f"q=item{n}") for n in range(SAVED_SEARCHES_MAX)
    )
    with pytest.raises(SavedSearchError, match=str(SAVED_SEARCHES_MAX)):
        saved_search_create(user=buyer, params={"q": "one more"})
    existing, created = saved_search_create(user=buyer, params={"q": "item3"})
    assert not created
    assert existing.name == "s3"
    assert SavedSearch.objects.filter(user=buyer).count() == SAVED_SEARCHES_MAX


# --- The pages --------------------------------------------------------------------------------
def test_post_saves_and_sends_back_to_the_search_with_a_message(client, buyer):
    """Without JavaScript: the search is saved and the shopper is back on it with a message."""
    client.force_login(buyer)
    back = "/browse/?q=levis&size=M"
    response = client.post(
        LIST_URL, {"q": "levis", "size": "M", "name": "My jeans", "next": back}, follow=True
    )
    assert response.redirect_chain == [(back, 302)]
    search = SavedSearch.objects.get(user=buyer)
    assert (search.name, search.query) == ("My jeans", "q=levis&size=M")
    assert "Search saved as “My jeans”" in response.content.decode()


def test_post_of_a_saved_search_again_says_it_is_already_saved(client, buyer):
    """Saving twice tells the shopper it is already saved, under its name."""
    saved(buyer, q="levis")
    client.force_login(buyer)
    response = client.post(LIST_URL, {"q": "levis", "next": "/browse/?q=levis"}, follow=True)
    assert "You already saved this search as “levis”" in response.content.decode()
    assert SavedSearch.objects.count() == 1


def test_post_with_htmx_swaps_the_control_to_saved(client, buyer):
    """With htmx the answer is the control's new state, "Saved ✓", not a redirect."""
    client.force_login(buyer)
    response = client.post(LIST_URL, {"q": "levis"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Saved ✓" in body
    assert "<html" not in body
    assert SavedSearch.objects.filter(user=buyer, query="q=levis").exists()


def test_post_with_htmx_shows_the_error(client, buyer):
    """An error (nothing to save) is shown in the control."""
    client.force_login(buyer)
    response = client.post(LIST_URL, {"sort": "newest"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "choose a filter" in response.content.decode()
    assert not SavedSearch.objects.exists()


def test_anonymous_save_goes_to_login_and_back_to_the_search(client):
    """A visitor who is not logged in is sent to log in, then back to the search."""
    response = client.post(LIST_URL, {"q": "levis", "next": "/browse/?q=levis"})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next=/browse/%3Fq%3Dlevis"
    assert not SavedSearch.objects.exists()


def test_browse_shows_anonymous_visitors_a_login_link_back_to_the_search(client):
    """On the browse page a visitor's "Save this search" is a login link with next=."""
    body = client.get("/browse/?q=levis").content.decode()
    assert 'href="/accounts/login/?next=/browse/%3Fq%3Dlevis"' in body


def test_browse_control_posts_the_valid_filters_of_the_page(client, buyer):
    """Logged in, the control holds the page's valid filters (not the sort) and the default
    name; with no filter there is no control."""
    client.force_login(buyer)
    body = client.get("/browse/?q=Levis&size=M&sort=price_asc&condition=bogus").content.decode()
    assert f'action="{LIST_URL}"' in body
    assert '<input type="hidden" name="q" value="levis">' in body
    assert '<input type="hidden" name="size" value="M">' in body
    assert 'name="sort" value' not in body.split('class="save-search"')[1]
    assert 'placeholder="levis · M"' in body
    assert 'id="save-search"' not in client.get("/browse/").content.decode()


def test_category_page_control_includes_the_category(client, buyer):
    """On /c/<slug>/ the category of the page is part of the saved search."""
    CategoryFactory(name="Jackets", slug="jackets")
    client.force_login(buyer)
    body = client.get("/c/jackets/?size=M").content.decode()
    assert '<input type="hidden" name="category" value="jackets">' in body
    client.post(LIST_URL, {"category": "jackets", "size": "M"})
    assert SavedSearch.objects.get(user=buyer).query == "category=jackets&size=M"


def test_list_shows_only_my_saved_searches(client, buyer, stranger):
    """The list shows the member's searches, with a link to run each and what it filters on."""
    mine = saved(buyer, q="levis", max_price="50")
    saved(stranger, q="gucci")
    client.force_login(buyer)
    response = client.get(LIST_URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'href="/browse/?q=levis&amp;max_price=50"' in body
    assert "levis · under €50" in body
    assert reverse("marketplace:saved_search_delete", args=[mine.pk]) in body
    assert "gucci" not in body


def test_list_query_count_does_not_grow_with_the_searches(client, buyer):
    """The list runs as many queries for 1 saved search as for 12."""
    CategoryFactory(name="Jackets", slug="jackets")
    saved(buyer, q="item0", category="jackets")
    client.force_login(buyer)
    cache.clear()
    with CaptureQueriesContext(connection) as one:
        assert client.get(LIST_URL).status_code == 200
    for n in range(1, 12):
        saved(buyer, q=f"item{n}", category="jackets")
    cache.clear()
    with CaptureQueriesContext(connection) as twelve:
        response = client.get(LIST_URL)
    assert response.content.decode().count('aria-label="Delete “') == 12
    assert len(twelve) == len(one)


def test_anonymous_list_goes_to_login(client):
    """The list is for members: visitors are sent to log in."""
    response = client.get(LIST_URL)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={LIST_URL}"


def test_delete_my_saved_search(client, buyer):
    """Deleting one of mine removes it and says so on the list."""
    search = saved(buyer, q="levis")
    client.force_login(buyer)
    response = client.post(
        reverse("marketplace:saved_search_delete", args=[search.pk]), follow=True
    )
    assert response.redirect_chain[-1][0] == LIST_URL
    assert "Deleted the saved search “levis”" in response.content.decode()
    assert not SavedSearch.objects.exists()


def test_deleting_someone_elses_saved_search_is_404(client, buyer, stranger):
    """Another member's saved search is a 404 and stays."""
    search = saved(buyer, q="levis")
    client.force_login(stranger)
    response = client.post(reverse("marketplace:saved_search_delete", args=[search.pk]))
    assert response.status_code == 404
    assert SavedSearch.objects.filter(pk=search.pk).exists()


def test_delete_service_refuses_other_members(buyer, stranger):
    """saved_search_delete raises a 404-style error for another member's search."""
    search = saved(buyer, q="levis")
    with pytest.raises(service.SavedSearchNotFound):
        saved_search_delete(user=stranger, saved_search_id=search.pk)


# --- The digest -------------------------------------------------------------------------------
def test_digest_emails_only_new_matching_listings(buyer):
    """One email with the listings published since the search was saved that match it; older
    and non-matching listings are left out."""
    saved(buyer, q="denim", ago=timedelta(hours=3))
    published("Old denim jacket", ago=timedelta(hours=5))
    fresh = published("Blue denim jacket", ago=timedelta(hours=1))
    ListingImageFactory(listing=fresh)
    published("Wool coat", ago=timedelta(hours=1), description="Warm", brand="Acme")

    run = saved_searches_digest_run()

    assert (run.due, run.sent, run.failed) == (1, 1, 0)
    (message,) = mail.outbox
    assert message.to == [buyer.email]
    assert message.subject == "1 new item for “denim”"
    assert "Blue denim jacket" in message.body
    assert f"http://127.0.0.1:8000{fresh.get_absolute_url()}" in message.body
    assert "Old denim jacket" not in message.body
    assert "Wool coat" not in message.body
    html = message.alternatives[0][0]
    assert 'src="http://127.0.0.1:8000/media/listings/' in html
    assert "€25.00" in html
    assert message.extra_headers["List-Unsubscribe"].startswith("<http://")


def test_digest_sends_nothing_when_nothing_is_new(buyer):
    """No new matching listing: no email."""
    saved(buyer, q="denim")
    published("Wool coat", description="Warm", brand="Acme")
    assert saved_searches_digest_run().sent == 0
    assert mail.outbox == []


def test_digest_is_sent_at_most_once_a_day(buyer):
    """A second run the same day sends nothing, even with new items; the next day's digest
    has only what is new since the first one."""
    saved(buyer, q="denim", ago=timedelta(hours=3))
    published("Denim one", ago=timedelta(hours=1))
    now = timezone.now()
    assert saved_searches_digest_run(now=now).sent == 1
    ListingFactory(title="Denim two", published_at=now + timedelta(hours=1))

    assert saved_searches_digest_run(now=now + timedelta(hours=2)).due == 0
    assert saved_search_digest_send(user_id=buyer.pk, now=now + timedelta(hours=2)) is False
    assert len(mail.outbox) == 1

    assert saved_searches_digest_run(now=now + timedelta(hours=24, minutes=1)).sent == 1
    second = mail.outbox[1]
    assert "Denim two" in second.body
    assert "Denim one" not in second.body


def test_digest_covers_every_search_of_the_member_in_one_email(buyer):
    """Two searches with news: one email with a section for each."""
    saved(buyer, q="denim")
    saved(buyer, brand="Zara")
    published("Denim skirt", brand="Levi's")
    published("Linen shirt", brand="Zara", description="Summer")
    saved_searches_digest_run()
    (message,) = mail.outbox
    assert message.subject == "2 new items for your saved searches"
    assert "Denim skirt" in message.body
    assert "Linen shirt" in message.body


def test_digest_respects_the_opt_out(buyer):
    """A member who turned saved-search emails off gets none."""
    saved(buyer, q="denim")
    published("Denim skirt")
    email_opt_out(user=buyer, kind=EmailKind.SAVED_SEARCHES)
    saved_searches_digest_run()
    assert mail.outbox == []


def test_digest_unsubscribe_link_works_logged_out(buyer):
    """The email's unsubscribe link opens without logging in (GET shows a button, POST turns
    the emails off) and the next digest is not sent."""
    saved(buyer, q="denim", ago=timedelta(hours=3))
    published("Denim skirt", ago=timedelta(hours=1))
    now = timezone.now()
    saved_searches_digest_run(now=now)
    link = re.search(r"Unsubscribe from these emails: (\S+)", mail.outbox[0].body)[1]
    path = link.removeprefix("http://127.0.0.1:8000")
    visitor = Client()

    page = visitor.get(path)
    assert page.status_code == 200
    assert not EmailOptOut.objects.filter(user=buyer).exists()
    assert visitor.post(path).status_code == 200
    assert EmailOptOut.objects.filter(user=buyer, kind=EmailKind.SAVED_SEARCHES).exists()

    ListingFactory(title="Denim jeans", published_at=now + timedelta(hours=1))
    saved_searches_digest_run(now=now + timedelta(days=1, minutes=1))
    assert len(mail.outbox) == 1


def test_digest_leaves_out_listings_no_longer_for_sale(buyer):
    """A new match that was sold or deleted before the digest is not in it."""
    saved(buyer, q="denim")
    published("Denim sold", status=Listing.Status.SOLD)
    published("Denim deleted", deleted_at=timezone.now())
    published("Denim on sale")
    saved_searches_digest_run()
    (message,) = mail.outbox
    assert "Denim on sale" in message.body
    assert "Denim sold" not in message.body
    assert "Denim deleted" not in message.body


def test_digest_shows_ten_items_per_search_and_how_many_more(buyer):
    """More than DIGEST_ITEMS_PER_SEARCH matches: the newest ten and "and N more" with a link."""
    search = saved(buyer, q="denim", ago=timedelta(days=1))
    for n in range(DIGEST_ITEMS_PER_SEARCH + 2):
        published(f"Denim {n:02d}", ago=timedelta(minutes=60 - n))
    saved_searches_digest_run()
    (message,) = mail.outbox
    assert message.subject == "12 new items for “denim”"
    assert message.body.count("- Denim") == DIGEST_ITEMS_PER_SEARCH
    assert "Denim 11" in message.body
    assert "Denim 01" not in message.body
    assert f"…and 2 more: http://127.0.0.1:8000{search.get_absolute_url()}" in message.body


def test_digest_search_of_a_removed_category_is_skipped(buyer):
    """A search whose category no longer exists matches nothing (not every listing)."""
    category = CategoryFactory(name="Capes", slug="capes")
    saved(buyer, category="capes")
    category.delete()
    published("Denim skirt")
    assert saved_searches_digest_run().sent == 0


def test_digest_query_count_does_not_grow_with_the_searches(django_assert_max_num_queries):
    """A member with 15 saved searches (categories, matches, photos) costs no more queries
    than one with a single search."""
    jackets = CategoryFactory(name="Jackets", slug="jackets")
    one, many = UserFactory(), UserFactory()
    saved(one, q="denim")
    # Two digits: no search's number is part of another's (the SQLite fallback matches parts).
    for n in range(15):
        saved(many, q=f"denim {n:02d} jacket", category="jackets", max_price=str(100 + n))
    for n in range(15):
        listing = published(f"Denim {n:02d} jacket", category=jackets)
        ListingImageFactory(listing=listing)
    cache.clear()
    with CaptureQueriesContext(connection) as single:
        assert saved_search_digest_send(user_id=one.pk)
    cache.clear()
    with django_assert_max_num_queries(len(single) + 1):  # + the categories of the searches
        assert saved_search_digest_send(user_id=many.pk)
    assert len(mail.outbox) == 2
    assert mail.outbox[1].body.count("- Denim") == 15


def test_a_failing_send_is_logged_and_the_others_still_get_theirs(buyer, stranger, monkeypatch):
    """One member's email failing doesn't stop the run; that member is tried again next run."""
    saved(buyer, q="denim")
    saved(stranger, q="denim")
    published("Denim skirt")
    real_send = service.member_email_send

    def flaky(*, user, **kwargs):
        if user.pk == buyer.pk:
            raise ConnectionError("mail server down")
        return real_send(user=user, **kwargs)

    monkeypatch.setattr(service, "member_email_send", flaky)
    run = saved_searches_digest_run()
    assert (run.due, run.sent, run.failed) == (2, 1, 1)
    assert [m.to for m in mail.outbox] == [[stranger.email]]

    monkeypatch.setattr(service, "member_email_send", real_send)
    assert saved_searches_digest_run().sent == 1
    assert mail.outbox[1].to == [buyer.email]


def test_paused_searches_are_not_emailed(buyer):
    """A saved search staff paused (is_active=False) is left out of the digest."""
    search = saved(buyer, q="denim")
    SavedSearch.objects.filter(pk=search.pk).update(is_active=False)
    published("Denim skirt")
    assert saved_searches_digest_run().due == 0
    assert mail.outbox == []


def test_digest_command_sends_and_reports(buyer):
    """`manage.py saved_searches_digest` sends the due digests and says how many."""
    saved(buyer, q="denim")
    published("Denim skirt", price=Decimal("12.00"))
    out = StringIO()
    call_command("saved_searches_digest", stdout=out)
    assert "1 member(s) due, 1 email(s) sent, 0 failed" in out.getvalue()
    assert len(mail.outbox) == 1
