"""GET /api/search/suggest: what the search engine suggests, as JSON, cached briefly."""

from decimal import Decimal

import pytest
from django.urls import reverse

from marketplace import search
from marketplace.search.base import Suggestion

pytestmark = pytest.mark.django_db


class RecordingBackend:
    """A search backend that answers fixed suggestions and counts the calls."""

    name = "recording"

    def __init__(self):
        self.calls: list[tuple[str, int]] = []

    def suggest(self, q, *, limit):
        self.calls.append((q, limit))
        return (
            Suggestion(
                kind="listing",
                label="Levi's 501 jeans",
                url="/items/1-levis-501-jeans/",
                price=Decimal("25.00"),
                currency="EUR",
                thumbnail_url="/media/t.webp",
            ),
            Suggestion(kind="brand", label="Levi's", url="/browse/?brand=Levi%27s"),
        )


@pytest.fixture
def backend(monkeypatch):
    recording = RecordingBackend()
    monkeypatch.setattr(search, "get_backend", lambda: recording)
    return recording


def test_suggest_returns_the_backend_suggestions_as_json(client, backend):
    """Listings carry a formatted price and a thumbnail; brands carry neither."""
    response = client.get(reverse("marketplace:search_suggest"), {"q": "  levis   5 "})
    assert response.status_code == 200
    data = response.json()
    assert data["query"] == "levis 5"
    assert data["suggestions"] == [
        {
            "kind": "listing",
            "label": "Levi's 501 jeans",
            "url": "/items/1-levis-501-jeans/",
            "price": "€25.00",
            "thumbnail": "/media/t.webp",
        },
        {
            "kind": "brand",
            "label": "Levi's",
            "url": "/browse/?brand=Levi%27s",
            "price": "",
            "thumbnail": "",
        },
    ]
    assert backend.calls == [("levis 5", 8)]


def test_suggest_is_cached_per_query_and_public(client, backend):
    """A second request for the same query (any case) doesn't reach the engine; the answer is
    the same for everyone, so browsers may keep it a minute, and it sets no cookie."""
    first = client.get(reverse("marketplace:search_suggest"), {"q": "Levis"})
    second = client.get(reverse("marketplace:search_suggest"), {"q": "levis"})
    assert second.json()["suggestions"] == first.json()["suggestions"]
    assert len(backend.calls) == 1
    assert "public" in first["Cache-Control"]
    assert "max-age=60" in first["Cache-Control"]
    assert not first.cookies


@pytest.mark.parametrize("q", ["", "a", " ", "\t\t"])
def test_suggest_needs_two_characters(client, backend, q):
    """Too short a query answers an empty list without asking the engine."""
    response = client.get(reverse("marketplace:search_suggest"), {"q": q})
    assert response.json()["suggestions"] == []
    assert backend.calls == []


def test_suggest_caps_a_huge_query(client, backend):
    """A 5 000-character query is cut to 100 characters before the engine sees it."""
    client.get(reverse("marketplace:search_suggest"), {"q": "x" * 5000})
    assert backend.calls == [("x" * 100, 8)]


def test_suggest_refuses_post(client, backend):
    """The endpoint only reads."""
    assert client.post(reverse("marketplace:search_suggest"), {"q": "levis"}).status_code == 405


def test_header_search_box_is_a_combobox(client):
    """The header search box is announced as a combobox controlling the suggestions listbox,
    and the script that drives it is loaded with the CSP nonce."""
    body = client.get(reverse("marketplace:home")).content.decode()
    assert 'role="combobox"' in body
    assert 'aria-controls="site-search-suggestions"' in body
    assert 'id="site-search-suggestions" class="suggestions" role="listbox"' in body
    assert "js/search-suggest" in body
