"""The search page and the suggestions with Algolia configured: answered by Algolia (the real
SDK against the local fake), and by the real database backend when Algolia fails — the
shopper always gets results, never an error page."""

import logging
from decimal import Decimal

import pytest
from django.urls import reverse

from marketplace.search import algolia
from marketplace.tests.algolia_server import ADMIN_KEY, APP_ID, SEARCH_KEY, FakeAlgolia
from marketplace.tests.factories import CategoryFactory, ListingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(settings, monkeypatch):
    monkeypatch.setattr(algolia, "CONNECT_TIMEOUT_MS", 500)
    monkeypatch.setattr(algolia, "READ_TIMEOUT_MS", 300)
    monkeypatch.setattr(algolia, "WRITE_TIMEOUT_MS", 300)
    with FakeAlgolia() as server:
        settings.ALGOLIA_APP_ID = APP_ID
        settings.ALGOLIA_SEARCH_KEY = SEARCH_KEY
        settings.ALGOLIA_ADMIN_KEY = ADMIN_KEY
        settings.ALGOLIA_INDEX_NAME = "page_listings"
        settings.ALGOLIA_HOSTS = [server.host]
        yield server
        server.release()


@pytest.fixture
def catalog(fake, django_capture_on_commit_callbacks):
    """Two jackets for sale, indexed after commit the way the listing services do it."""
    algolia.configure_index()
    jackets = CategoryFactory(name="Jackets", slug="jackets")
    with django_capture_on_commit_callbacks(execute=True):
        denim = ListingFactory(
            title="Denim jacket", brand="Levi's", category=jackets, price=Decimal("25.00")
        )
        fleece = ListingFactory(
            title="Fleece jacket", brand="Patagonia", category=jackets, price=Decimal("80.00")
        )
        algolia.AlgoliaSearchBackend(fallback=None).index_listings([denim.pk, fleece.pk])
    return {"denim": denim, "fleece": fleece}


def test_search_page_answers_from_algolia(client, catalog, fake):
    """With Algolia configured, /browse/?q= asks Algolia and shows the listings it found."""
    response = client.get(reverse("marketplace:browse"), {"q": "denim"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Denim jacket" in body
    assert "Fleece jacket" not in body
    assert fake.calls("/queries"), "the page did not ask Algolia"


@pytest.mark.parametrize("failure", ["error", "hang", "wrong-key"])
def test_search_page_falls_back_to_the_database_when_algolia_fails(
    client, catalog, fake, settings, caplog, failure
):
    """A 500, a timeout or a refused key: the database search answers the same page, 200."""
    if failure == "wrong-key":
        settings.ALGOLIA_SEARCH_KEY = "wrong"
    else:
        fake.mode = failure
    with caplog.at_level(logging.WARNING, logger="marketplace.search.algolia"):
        response = client.get(reverse("marketplace:browse"), {"q": "fleece"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Fleece jacket" in body
    assert "Denim jacket" not in body
    assert "answering from the database" in caplog.text


def test_suggestions_fall_back_to_the_database_when_algolia_fails(client, catalog, fake):
    """The header's suggestions still list the matching listing while Algolia is down."""
    fake.mode = "error"
    response = client.get(reverse("marketplace:search_suggest"), {"q": "fleece"})
    assert response.status_code == 200
    labels = [s["label"] for s in response.json()["suggestions"]]
    assert "Fleece jacket" in labels
