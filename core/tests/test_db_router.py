"""Read replicas (core.db_router): safe reads to a replica, everything that must see the primary
to "default", and a dead replica skipped."""

import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.utils import load_backend
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import User
from core import db_router
from core.db_router import ReadYourWritesMiddleware, ReplicaRouter, primary
from marketplace.models import Listing
from orders.models import Order

BASE_DIR = Path(__file__).resolve().parents[2]
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
router = ReplicaRouter()


@pytest.fixture
def routing_state():
    """Each test starts unpinned with no replica chosen and no replica marked down."""
    tokens = db_router.start_context(pinned=False)
    db_router._down_until.clear()
    yield
    db_router.end_context(tokens)
    db_router._down_until.clear()


def add_replica(alias: str, **overrides) -> None:
    """A replica connection to default's test database (a MIRROR, as settings.py makes them)."""
    settings_dict = {**connections[DEFAULT_DB_ALIAS].settings_dict, **overrides}
    settings_dict["TEST"] = {**settings_dict["TEST"], "MIRROR": DEFAULT_DB_ALIAS}
    backend = load_backend(settings_dict["ENGINE"])
    connections[alias] = backend.DatabaseWrapper(settings_dict, alias)


def drop_replicas(*aliases: str) -> None:
    for alias in aliases:
        connections[alias].close()
        del connections[alias]


@pytest.fixture
def replica(settings, monkeypatch, routing_state):
    """One replica, "replica1", and the router installed; its connection closed afterwards."""
    add_replica("replica1")
    settings.DATABASE_REPLICAS = ["replica1"]
    settings.DATABASE_ROUTERS = ["core.db_router.ReplicaRouter"]
    yield "replica1"
    drop_replicas("replica1")


# --- Settings ---------------------------------------------------------------------------------


def test_replica_urls_become_replica_aliases_mirroring_default_in_tests(monkeypatch):
    """DATABASE_REPLICA_URLS adds replica1, replica2 (test mirrors of default) and the router."""
    monkeypatch.setenv("DATABASE_URL", "postgres://app:pw@primary.example:5432/threadly")
    monkeypatch.setenv(
        "DATABASE_REPLICA_URLS",
        "postgres://app:pw@r1.example:5432/threadly, postgres://app:pw@r2.example:5432/threadly",
    )
    conf = runpy.run_path(str(BASE_DIR / "threadly" / "settings.py"))
    assert conf["DATABASE_REPLICAS"] == ["replica1", "replica2"]
    assert conf["DATABASES"]["replica1"]["HOST"] == "r1.example"
    assert conf["DATABASES"]["replica2"]["HOST"] == "r2.example"
    assert conf["DATABASES"]["replica1"]["TEST"] == {"MIRROR": "default"}
    assert conf["DATABASES"]["replica1"]["OPTIONS"]["connect_timeout"] == 2
    assert conf["DATABASE_ROUTERS"] == ["core.db_router.ReplicaRouter"]


def test_no_replica_urls_no_router(monkeypatch):
    """Without DATABASE_REPLICA_URLS there is no replica alias and no router."""
    monkeypatch.delenv("DATABASE_REPLICA_URLS", raising=False)
    conf = runpy.run_path(str(BASE_DIR / "threadly" / "settings.py"))
    assert conf["DATABASE_REPLICAS"] == []
    assert conf["DATABASE_ROUTERS"] == []
    assert not [alias for alias in conf["DATABASES"] if alias.startswith("replica")]


def test_no_replicas_configured_router_answers_none_everywhere(settings, routing_state):
    """With no replicas the router leaves every decision to Django."""
    settings.DATABASE_REPLICAS = []
    assert router.db_for_read(Listing) is None
    assert router.db_for_read(Order) is None
    assert router.db_for_write(Listing) is None
    assert router.allow_migrate("default", "marketplace") is None
    assert not db_router.is_pinned()


# --- Routing ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_plain_read_goes_to_the_replica(replica):
    """A read outside any transaction goes to replica1, and so does a queryset's query."""
    assert router.db_for_read(Listing) == "replica1"
    assert Listing.objects.all().db == "replica1"
    assert User.objects.all().db == "replica1"


@pytest.mark.django_db
def test_read_inside_atomic_goes_to_default(replica):
    """Inside transaction.atomic() reads see the primary (the transaction may have written)."""
    with transaction.atomic():
        assert router.db_for_read(Listing) == DEFAULT_DB_ALIAS
        assert Listing.objects.all().db == DEFAULT_DB_ALIAS
    assert router.db_for_read(Listing) == "replica1"


@pytest.mark.django_db
def test_writes_go_to_default_and_pin_later_reads(replica):
    """A write goes to default, and this context's later reads follow it there."""
    assert router.db_for_read(Listing) == "replica1"
    assert router.db_for_write(Listing) == DEFAULT_DB_ALIAS
    assert router.db_for_read(Listing) == DEFAULT_DB_ALIAS


@pytest.mark.django_db
def test_saving_a_row_pins_reads_to_default(replica, seller):
    """A real save through the ORM routes to default and pins the context's reads."""
    seller.first_name = "Ada"
    seller.save(update_fields=["first_name"])
    assert User.objects.all().db == DEFAULT_DB_ALIAS


@pytest.mark.django_db
def test_orders_models_always_read_from_default(replica):
    """The money path: orders-app models never read from a replica."""
    assert router.db_for_read(Order) == DEFAULT_DB_ALIAS
    assert Order.objects.all().db == DEFAULT_DB_ALIAS
    assert router.db_for_read(Listing) == "replica1"


@pytest.mark.django_db
def test_primary_context_manager_reads_from_default(replica):
    """Code inside primary() reads from default; after it, reads go to the replica again."""
    with primary():
        assert router.db_for_read(Listing) == DEFAULT_DB_ALIAS
    assert router.db_for_read(Listing) == "replica1"


@pytest.mark.django_db
def test_checkout_services_read_from_default(replica, monkeypatch):
    """Reserving stock and starting a payment run inside primary(): no replica reads."""
    from orders.services import checkout as checkout_services

    seen = []

    def gateway_spy(*_args):
        seen.append(router.db_for_read(Listing))
        raise LookupError

    monkeypatch.setattr(checkout_services, "get_gateway", gateway_spy)
    monkeypatch.setattr(checkout_services, "get_gateway_by_name", gateway_spy)
    with pytest.raises(LookupError):
        checkout_services.checkout_reserve(
            buyer=SimpleNamespace(pk=1), address=SimpleNamespace(user_id=1)
        )
    with pytest.raises(LookupError):
        checkout_services.checkout_start_payment(
            checkout=SimpleNamespace(gateway="local"), success_url="/", cancel_url="/"
        )
    assert seen == [DEFAULT_DB_ALIAS, DEFAULT_DB_ALIAS]
    assert router.db_for_read(Listing) == "replica1"


@pytest.mark.django_db
def test_replicas_are_never_migrated(replica):
    """migrate leaves replicas alone (they follow the primary by replication)."""
    assert router.allow_migrate("replica1", "marketplace") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "marketplace") is None


@postgres_only
@pytest.mark.django_db
def test_unreachable_replica_falls_back_to_default_and_is_skipped(
    settings, monkeypatch, routing_state
):
    """A replica refusing connections sends reads to default, and isn't retried for a while."""
    add_replica("replica1", HOST="127.0.0.1", PORT="9")
    settings.DATABASE_REPLICAS = ["replica1"]
    try:
        assert router.db_for_read(Listing) == DEFAULT_DB_ALIAS
        assert not db_router.replica_is_up("replica1")
        attempts = []
        monkeypatch.setattr(
            connections["replica1"], "ensure_connection", lambda: attempts.append(1)
        )
        assert router.db_for_read(Listing) == DEFAULT_DB_ALIAS
        assert attempts == []
    finally:
        drop_replicas("replica1")


@postgres_only
@pytest.mark.django_db
def test_unreachable_replica_is_skipped_for_a_healthy_one(settings, monkeypatch, routing_state):
    """With one dead replica and one healthy, reads go to the healthy one."""
    add_replica("replica1", HOST="127.0.0.1", PORT="9")
    add_replica("replica2")
    settings.DATABASE_REPLICAS = ["replica1", "replica2"]
    try:
        assert {router.db_for_read(Listing) for _ in range(5)} == {"replica2"}
    finally:
        drop_replicas("replica1", "replica2")


def kill_replica(alias: str) -> None:
    """The replica's server goes away: its open connection is cut (the backend terminated from
    the primary) and nothing answers on its port any more (a closed port)."""
    replica_connection = connections[alias]
    replica_connection.ensure_connection()
    backend_pid = replica_connection.connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
    replica_connection.settings_dict.update(HOST="127.0.0.1", PORT="9")


def next_request(alias: str) -> None:
    """What Django does to a kept connection when the next request starts (request_started)."""
    connections[alias].close_if_unusable_or_obsolete()


@postgres_only
@pytest.mark.django_db
def test_replica_killed_after_connecting_sends_reads_to_default(replica):
    """A replica that dies while its connection is kept between requests: the next request's
    reads go to default without an error, and the replica is skipped for a while."""
    assert router.db_for_read(Listing) == "replica1"
    kill_replica("replica1")
    db_router.start_context(pinned=False)  # the next request: no replica chosen yet
    next_request("replica1")
    assert router.db_for_read(Listing) == DEFAULT_DB_ALIAS
    assert Listing.objects.count() == 0  # served, by default
    assert not db_router.replica_is_up("replica1")


@postgres_only
@pytest.mark.django_db
def test_replica_back_after_the_retry_period_is_used_again(replica, monkeypatch):
    """A replica marked down is tried again once REPLICA_RETRY_SECONDS have passed, and reads
    go back to it by themselves when it answers."""
    monkeypatch.setattr(db_router, "REPLICA_RETRY_SECONDS", 0.0)
    address = {key: connections["replica1"].settings_dict[key] for key in ("HOST", "PORT")}
    kill_replica("replica1")
    next_request("replica1")
    assert router.db_for_read(Listing) == DEFAULT_DB_ALIAS
    connections["replica1"].settings_dict.update(address)  # the replica is back
    db_router.start_context(pinned=False)
    assert router.db_for_read(Listing) == "replica1"
    assert connections["replica1"].is_usable()


# --- Read-your-writes -------------------------------------------------------------------------


def reads_from(request) -> str | None:
    """The alias a Listing read goes to while the middleware handles this request."""
    seen = []

    def view(_request):
        seen.append(router.db_for_read(Listing))
        return HttpResponse("ok")

    response = ReadYourWritesMiddleware(view)(request)
    return seen[0], response


@pytest.mark.django_db
def test_members_post_sets_a_short_lived_primary_cookie(replica, seller, settings):
    """After a member's POST, the response pins that browser to the primary for N seconds."""
    settings.DATABASE_REPLICA_STICKY_SECONDS = 7
    request = RequestFactory().post("/anything")
    request.user = seller
    _alias, response = reads_from(request)
    cookie = response.cookies[db_router.STICKY_COOKIE]
    assert cookie["max-age"] == 7
    assert cookie["httponly"]


@pytest.mark.django_db
def test_anonymous_post_and_member_get_set_no_cookie(replica, seller, settings):
    """Only a signed-in member's unsafe request pins them; a GET or a visitor's POST doesn't."""
    from django.contrib.auth.models import AnonymousUser

    get = RequestFactory().get("/")
    get.user = seller
    anonymous_post = RequestFactory().post("/")
    anonymous_post.user = AnonymousUser()
    for request in (get, anonymous_post):
        _alias, response = reads_from(request)
        assert db_router.STICKY_COOKIE not in response.cookies


@pytest.mark.django_db
def test_request_with_the_cookie_reads_from_default(replica, seller):
    """The member's next request (carrying the signed cookie) reads from the primary."""
    post = RequestFactory().post("/")
    post.user = seller
    _alias, response = reads_from(post)
    follow_up = RequestFactory().get("/")
    follow_up.COOKIES[db_router.STICKY_COOKIE] = response.cookies[db_router.STICKY_COOKIE].value
    assert reads_from(follow_up)[0] == DEFAULT_DB_ALIAS
    assert reads_from(RequestFactory().get("/"))[0] == "replica1"


@pytest.mark.django_db
def test_forged_or_expired_cookie_does_not_pin(replica, settings):
    """A cookie not signed by us, or older than the sticky window, reads from the replica."""
    forged = RequestFactory().get("/")
    forged.COOKIES[db_router.STICKY_COOKIE] = "1:forged:signature"
    assert reads_from(forged)[0] == "replica1"
    settings.DATABASE_REPLICA_STICKY_SECONDS = 0
    request = RequestFactory().post("/")
    request.user = User(pk=1)
    assert db_router.STICKY_COOKIE not in reads_from(request)[1].cookies


@pytest.mark.django_db
def test_pin_ends_with_the_request(replica, seller):
    """A write during one request pins only that request, not the next one."""

    def writing_view(_request):
        router.db_for_write(Listing)
        return HttpResponse("ok")

    ReadYourWritesMiddleware(writing_view)(RequestFactory().get("/"))
    assert reads_from(RequestFactory().get("/"))[0] == "replica1"


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_members_post_through_the_site_sets_the_cookie(replica, client, seller):
    """End to end: the session's member is read from the replica, and their POST comes back
    with the primary cookie (committed rows: the replica is a second connection)."""
    assert "core.db_router.ReadYourWritesMiddleware" in django_settings.MIDDLEWARE
    client.force_login(seller)
    response = client.post(reverse("marketplace:home"))
    assert response.wsgi_request.user == seller
    assert db_router.STICKY_COOKIE in response.cookies
    assert connections["replica1"].connection is not None
