"""Odd methods, htmx headers, hosts, oversized bodies and upload bombs."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Profile
from tests.robustness.world import (
    XSS,
    assert_escaped,
    assert_no_crash,
    listing_payload,
    project_url_names,
    resolve_url,
    row_counts,
    snapshot,
)

pytestmark = pytest.mark.django_db


# --- Odd methods, htmx headers, hosts and oversized bodies ---------------------------------
@pytest.mark.parametrize("method", ["put", "patch", "delete", "options", "head", "trace"])
def test_every_url_with_odd_http_methods_never_500(world, method):
    """PUT / PATCH / DELETE / OPTIONS / HEAD / TRACE on every URL: 2xx-4xx, never a crash,
    and nothing of the owner's changes."""
    before = snapshot(world)
    for role in ("anonymous", "buyer"):
        client = world.client(role)
        for name in project_url_names(skip_known_crashes=True):
            url = resolve_url(name, world)
            if method == "trace":
                response = client.generic("TRACE", url)
            else:
                response = getattr(client, method)(url)
            assert_no_crash(response, f"{role} {method.upper()} {url}")
    assert snapshot(world) == before


def test_every_url_as_an_htmx_request_never_500(world):
    """With HX-Request headers (partial rendering) every GET still works."""
    headers = {"HX-Request": "true", "HX-Target": "results", "HX-Current-URL": XSS}
    for role in ("anonymous", "owner"):
        client = world.client(role)
        for name in project_url_names(skip_known_crashes=True):
            url = resolve_url(name, world)
            response = client.get(url, headers=headers)
            assert_no_crash(response, f"htmx {role} GET {url}")
            assert_escaped(response, XSS, f"htmx {url}")


def test_favourite_htmx_partial_escapes_next(world):
    """The htmx favourite button echoes next= escaped."""
    response = world.client("stranger").post(
        reverse("marketplace:favourite", kwargs={"pk": world.listing.pk}),
        {"favourite": "1", "next": XSS},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert_escaped(response, XSS, "favourite partial")


@pytest.mark.parametrize("host", ["evil.example", "testserver.evil.example", "[::1]:80@evil"])
def test_unknown_host_headers_are_400(world, host):
    """A Host header outside ALLOWED_HOSTS is refused before any view runs."""
    response = world.client("anonymous").get("/", headers={"Host": host})
    assert response.status_code == 400


def test_password_reset_link_ignores_forwarded_host(world, mailoutbox):
    """X-Forwarded-Host can't point the reset link at an attacker's domain."""
    world.client("anonymous").post(
        reverse("account_reset_password"),
        {"email": world.owner.email},
        headers={"X-Forwarded-Host": "evil.example"},
    )
    assert mailoutbox
    assert all("evil.example" not in message.body for message in mailoutbox)


def test_too_many_form_fields_is_a_400(world):
    """A POST with thousands of fields is refused with 400 (DATA_UPLOAD_MAX_NUMBER_FIELDS)."""
    data = {f"f{n}": "x" for n in range(3000)}
    for url in (reverse("marketplace:listing_create"), reverse("account_login")):
        response = world.client("owner").post(url, data)
        assert response.status_code == 400, url


def test_oversized_body_is_a_400(world):
    """A 3 MB urlencoded body is refused with 400 (DATA_UPLOAD_MAX_MEMORY_SIZE)."""
    response = world.client("owner").post(
        reverse("accounts:profile_edit"), {"bio": "b" * 3_000_000}
    )
    assert response.status_code == 400
    assert Profile.objects.get(user=world.owner).bio != "b" * 3_000_000


def _png_header_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("size", [(100_000, 100_000), (50_000, 1_000), (10, 5_000_000)])
def test_decompression_bomb_uploads_are_refused(world, size):
    """A PNG claiming billions of pixels is refused from its header: a form error, no rows."""
    before = row_counts()
    upload = SimpleUploadedFile("bomb.png", _png_header_bomb(*size), "image/png")
    client = world.client("owner")
    create = client.post(
        reverse("marketplace:listing_create"), {**listing_payload(world), "images": [upload]}
    )
    upload.seek(0)
    avatar = client.post(reverse("accounts:profile_edit"), {"display_name": "Me", "avatar": upload})
    for response in (create, avatar):
        assert response.status_code == 200, response.status_code
        assert 'class="errorlist' in response.content.decode()
    assert row_counts() == before


def test_logout_by_get_keeps_the_session(world):
    """GET /accounts/logout/ only asks for confirmation (a cross-site <img> can't log you out)."""
    client = world.client("buyer")
    client.get(reverse("account_logout"))
    assert client.get(reverse("accounts:dashboard")).status_code == 200
