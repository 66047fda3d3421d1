"""Project-level wiring: test runner, Python finder, robots.txt and sitemaps."""

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from marketplace.models import Category, Listing

ROOT = Path(__file__).resolve().parent.parent


def test_find_python_prints_a_python_of_at_least_3_12():
    """scripts/find-python answers with an interpreter that really is Python >= 3.12."""
    found = subprocess.run(
        [str(ROOT / "scripts" / "find-python")], capture_output=True, text=True, check=True
    ).stdout.strip()
    version = subprocess.run(
        [found, "-c", "import sys; print(sys.version_info >= (3, 12))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version == "True"


def test_find_python_explains_what_to_install_when_none_is_found(tmp_path):
    """With no suitable Python anywhere, the finder exits non-zero and names what to install."""
    result = subprocess.run(
        ["/bin/sh", str(ROOT / "scripts" / "find-python")],
        capture_output=True,
        text=True,
        env={"PATH": str(tmp_path), "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 1
    assert "Python 3.12 or newer" in result.stderr


def test_run_tests_refuses_to_fall_back_in_ci_when_services_are_missing():
    """In CI a missing PostgreSQL is a failure with a clear message, not a silent SQLite run."""
    env = {
        **os.environ,
        "CI": "true",
        "DATABASE_URL": "postgres://root@127.0.0.1:9/test",
        "REDIS_URL": "redis://127.0.0.1:9/0",
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run_tests.py"), "--co", "-q"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout.startswith("Threadly tests on SQLite")
    assert "PostgreSQL is not reachable" in result.stderr


def test_robots_txt_keeps_crawlers_out_of_private_pages(client):
    """robots.txt is plain text, hides admin and account pages and points at the sitemap."""
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert "Disallow: /admin/" in body
    assert body.strip().endswith("/sitemap.xml")


@pytest.mark.django_db
def test_sitemap_lists_items_for_sale_but_not_drafts(client):
    """The listings sitemap names active listings and leaves drafts out."""
    seller = UserFactory()
    category = Category.objects.create(name="Tops", slug="tops")
    common = {
        "seller": seller,
        "category": category,
        "condition": "good",
        "price": Decimal("12.00"),
    }
    active = Listing.objects.create(
        title="Blue linen shirt", status="active", published_at=timezone.now(), **common
    )
    draft = Listing.objects.create(title="Secret draft", status="draft", **common)

    index = client.get("/sitemap.xml")
    assert index.status_code == 200
    assert b"sitemap-listings.xml" in index.content
    listings = client.get("/sitemap-listings.xml").content.decode()
    assert active.get_absolute_url() in listings
    assert draft.get_absolute_url() not in listings
