"""The background worker and scheduler: the periodic jobs run on their schedule, inline without a
queue; with the RQ queue (real Redis) tasks wait for `run_worker`, and two schedulers never
enqueue a job twice."""

import threading
from datetime import UTC, datetime, timedelta

import django_rq
import pytest
from croniter import croniter
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError
from django.utils import timezone
from rq import Worker

from core import analytics
from core.analytics.base import LocalRecorder
from marketplace.models import Listing
from ops import health, jobs, queue, scheduler
from ops.tasks import run_periodic_job
from orders.models import Checkout, Order
from orders.tasks import queue_order_email
from orders.tests.factories import ListingFactory, UserFactory
from orders.tests.helpers import paid_order, start_checkout

pytestmark = pytest.mark.django_db


def _expired_hold() -> tuple[Listing, Checkout]:
    listing = ListingFactory()
    checkout = start_checkout(UserFactory(), [listing])
    Checkout.objects.filter(pk=checkout.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert Listing.objects.get(pk=listing.pk).quantity == 0
    return listing, checkout


# --- Without a queue: run_worker runs the periodic jobs inline -------------------------------
def test_worker_once_releases_an_expired_checkout_hold():
    """`run_worker --once` runs release_reservations: an expired hold gives its stock back."""
    listing, checkout = _expired_hold()

    call_command("run_worker", "--once")

    assert Checkout.objects.get(pk=checkout.pk).status == Checkout.Status.EXPIRED
    assert Listing.objects.get(pk=listing.pk).quantity == 1


def test_worker_without_a_queue_says_so_and_runs_a_tick_inline(capsys):
    """`run_worker --burst` with no TASK_QUEUE_URL names the inline mode and runs one tick."""
    listing, checkout = _expired_hold()

    call_command("run_worker", "--burst")

    assert "No task queue (TASK_QUEUE_URL is not set)" in capsys.readouterr().out
    assert Checkout.objects.get(pk=checkout.pk).status == Checkout.Status.EXPIRED


def test_worker_schedule_runs_jobs_at_their_intervals(monkeypatch):
    """Minute 0 runs every job, minute 1 only the holds, minute 5 the holds, offer expiry,
    refunds, alerts and unread-message emails."""
    ran: list[str] = []
    monkeypatch.setattr(jobs, "call_command", lambda name, *a, **k: ran.append(name))
    assert scheduler.run_tick(0) == [
        "release_reservations",
        "offers_expire",
        "retry_refunds",
        "ops_status",
        "complete_orders",
        "db_backup",
        "search_reindex",
        "saved_searches_digest",
        "followers_digest",
        "messages_notify_unread",
        "search_words_refresh",
        "listing_views_flush",
    ]
    assert scheduler.run_tick(1) == ["release_reservations", "listing_views_flush"]
    assert scheduler.run_tick(5) == [
        "release_reservations",
        "offers_expire",
        "retry_refunds",
        "ops_status",
        "messages_notify_unread",
        "listing_views_flush",
    ]
    assert ran.count("release_reservations") == 3
    assert ran.count("retry_refunds") == 2
    assert ran.count("complete_orders") == 1


def test_a_failing_job_does_not_stop_the_others(monkeypatch):
    """One job raising is logged; the jobs after it still run."""
    ran: list[str] = []

    def fake(name, *args, **kwargs):
        if name == "retry_refunds":
            raise RuntimeError("gateway down")
        ran.append(name)

    monkeypatch.setattr(jobs, "call_command", fake)
    scheduler.run_tick(0)
    assert ran == [job.command for job in scheduler.SCHEDULE if job.command != "retry_refunds"]


def test_each_job_cron_repeats_at_its_interval():
    """The queue's cron expression of each job fires every `every` minutes, on the minute."""
    start = datetime(2026, 3, 2, 10, 7, 30, tzinfo=UTC)
    for job in scheduler.SCHEDULE:
        slots = croniter(job.cron, start)
        first, second = slots.get_next(datetime), slots.get_next(datetime)
        assert second - first == timedelta(minutes=job.every), job
        assert first.second == 0


def test_scheduler_refuses_to_start_without_a_queue():
    """`run_scheduler` with no TASK_QUEUE_URL stops with a line pointing at run_worker."""
    with pytest.raises(CommandError, match="run_worker runs the periodic jobs itself"):
        call_command("run_scheduler")


# --- With the RQ queue (real Redis) ------------------------------------------------------------
@pytest.fixture
def task_queue(settings):
    """Tasks go to an RQ queue in this test's Redis database (the cache's, emptied around
    each test), as with TASK_QUEUE_URL set; the worker runs jobs in this process (--no-fork)
    so they see the test's database transaction."""
    location = str(settings.CACHES["default"].get("LOCATION", ""))
    if not location.startswith("redis"):
        pytest.skip("needs Redis (REDIS_URL)")
    settings.TASK_QUEUE_URL = location
    settings.RQ_QUEUES = {"default": {"URL": location, "DEFAULT_TIMEOUT": 60}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    redis = queue.connection()
    redis.flushdb()
    yield django_rq.get_queue("default", connection=redis)
    redis.flushdb()


def _work() -> None:
    call_command("run_worker", "--burst", "--no-fork")


def test_a_queued_job_waits_for_a_worker_then_runs(task_queue):
    """Enqueued on the queue, a periodic job does nothing until `run_worker --burst` runs it."""
    listing, checkout = _expired_hold()

    run_periodic_job.enqueue("release_reservations")

    assert task_queue.count == 1
    assert Checkout.objects.get(pk=checkout.pk).status == Checkout.Status.PENDING
    _work()
    assert task_queue.count == 0
    assert Checkout.objects.get(pk=checkout.pk).status == Checkout.Status.EXPIRED
    assert Listing.objects.get(pk=listing.pk).quantity == 1


def test_order_email_is_sent_by_the_worker_not_the_request(
    task_queue, django_capture_on_commit_callbacks
):
    """An order email is enqueued after commit; the worker sends it."""
    order = paid_order()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        queue_order_email(template="order_confirmed", order_id=order.pk, to_buyer=True)

    assert mail.outbox == []
    assert task_queue.count == 1
    _work()
    assert [message.to for message in mail.outbox] == [[order.buyer.email]]
    assert mail.outbox[0].subject == f"Your order #{order.pk} is confirmed"


def test_analytics_event_is_captured_by_the_worker(
    task_queue, settings, django_capture_on_commit_callbacks
):
    """analytics.capture_on_commit enqueues the event; the worker records it."""
    settings.POSTHOG_KEY = ""
    recorder = analytics.get_backend()
    assert isinstance(recorder, LocalRecorder)
    recorder.clear()

    with django_capture_on_commit_callbacks(execute=True):
        analytics.capture_on_commit(None, "search_performed", q="linen")

    assert recorder.events == []
    _work()
    assert [(e.name, e.properties) for e in recorder.events] == [
        ("search_performed", {"q": "linen"})
    ]


def test_a_failing_task_does_not_stop_the_worker(task_queue, monkeypatch):
    """A job that fails (here on the database) is kept as failed; the jobs after it run."""
    ran: list[str] = []

    def fake(name, *args, **kwargs):
        if name == "offers_expire":
            raise OperationalError("server closed the connection unexpectedly")
        if name == "retry_refunds":
            raise RuntimeError("gateway down")  # logged by the job runner, the task succeeds
        ran.append(name)

    monkeypatch.setattr(jobs, "call_command", fake)
    for name in ("offers_expire", "retry_refunds", "ops_status", "complete_orders"):
        run_periodic_job.enqueue(name)

    _work()

    assert ran == ["ops_status", "complete_orders"]
    assert task_queue.failed_job_registry.count == 1
    assert task_queue.count == 0


def _due_scheduler(redis, name: str, slot: datetime) -> scheduler.PeriodicScheduler:
    """A scheduler whose jobs all have `slot` (in the past) as their next slot."""
    cron = scheduler.build_scheduler(redis, name=name)
    for job in cron.get_jobs():
        job.next_enqueue_time = slot
    return cron


def _enqueued_names(task_queue) -> list[str]:
    return sorted(job.args[0] for job in task_queue.get_jobs())


def test_two_schedulers_enqueue_each_due_job_once(task_queue):
    """Two schedulers ticking at the same moment enqueue every due job exactly once."""
    redis = queue.connection()
    slot = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    schedulers = [_due_scheduler(redis, f"test-{n}", slot) for n in range(2)]
    barrier = threading.Barrier(len(schedulers))
    enqueued: dict[str, list[str]] = {}

    def tick(cron: scheduler.PeriodicScheduler) -> None:
        barrier.wait()
        enqueued[cron.name] = [job.name for job in cron.enqueue_jobs()]

    threads = [threading.Thread(target=tick, args=(cron,)) for cron in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    expected = sorted([scheduler.UPKEEP, *(job.command for job in scheduler.SCHEDULE)])
    assert _enqueued_names(task_queue) == expected
    assert sorted(enqueued["test-0"] + enqueued["test-1"]) == expected
    # Their next slots are in the future: a second tick enqueues nothing more.
    for cron in schedulers:
        assert cron.enqueue_jobs() == []
    assert task_queue.count == len(expected)


def test_a_restarted_scheduler_does_not_repeat_a_claimed_slot(task_queue):
    """A scheduler started after another enqueued a slot (a deploy overlap) skips that slot."""
    redis = queue.connection()
    slot = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    assert len(_due_scheduler(redis, "old", slot).enqueue_jobs()) == len(scheduler.SCHEDULE) + 1

    assert _due_scheduler(redis, "new", slot).enqueue_jobs() == []
    assert task_queue.count == len(scheduler.SCHEDULE) + 1


def test_scheduled_upkeep_run_by_the_worker_writes_the_heartbeat(task_queue):
    """The scheduler's minute upkeep, run by a worker, is the heartbeat /health reads."""
    redis = queue.connection()
    slot = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    cron = scheduler.build_scheduler(redis, name="upkeep-only")
    upkeep = next(job for job in cron.get_jobs() if job.name == scheduler.UPKEEP)
    upkeep.next_enqueue_time = slot
    assert [job.name for job in cron.enqueue_jobs()] == [scheduler.UPKEEP]
    assert health.check_task_queue().ok is False  # nothing ran yet, and no worker registered

    _work()

    assert health.cache.get(health.WORKER_HEARTBEAT_KEY) is not None


def test_health_names_a_missing_worker_or_scheduler(task_queue):
    """With a queue, task_queue fails (as a warning) until a worker and a scheduler are
    registered in Redis and the upkeep heartbeat is fresh."""
    redis = queue.connection()
    health.worker_heartbeat()
    check = health.check_task_queue()
    assert (check.ok, check.critical) == (False, False)
    assert "no worker on the task queue" in check.error

    worker = Worker([task_queue], connection=redis, name="health-test")
    worker.register_birth()
    check = health.check_task_queue()
    assert "no scheduler on the task queue" in check.error

    cron = scheduler.build_scheduler(redis, name="health-test")
    cron.register_birth()
    check = health.check_task_queue()
    assert check.ok is True
    assert check.detail.startswith("1 worker(s), 1 scheduler(s), 0 queued, 0 failed; worker seen")

    worker.register_death()
    assert health.check_task_queue().ok is False


def test_queue_on_the_cache_database_fails_the_start_up_check(settings):
    """TASK_QUEUE_URL equal to REDIS_URL is refused (cache_clear would drop the queue);
    another database number passes."""
    from ops.checks import ops_settings_check

    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    settings.TASK_QUEUE_URL = "redis://127.0.0.1:6379/0"
    assert "ops.E005" in [problem.id for problem in ops_settings_check(None)]
    settings.TASK_QUEUE_URL = "redis://127.0.0.1:6379/2"
    assert [p.id for p in ops_settings_check(None) if p.id.startswith("ops.E")] == []
    settings.TASK_QUEUE_URL = "127.0.0.1:6379"
    assert "ops.E004" in [problem.id for problem in ops_settings_check(None)]


def test_an_unreachable_queue_is_logged_never_raised_after_commit(
    settings, caplog, django_capture_on_commit_callbacks
):
    """With the queue's Redis down, an order email's enqueue is logged; the request goes on."""
    settings.TASK_QUEUE_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    settings.RQ_QUEUES = {"default": {"URL": settings.TASK_QUEUE_URL, "SOCKET_TIMEOUT": 1}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    order = paid_order()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        queue_order_email(template="order_shipped", order_id=order.pk, to_buyer=True)

    assert mail.outbox == []
    assert f"order email order_shipped for order {order.pk} failed" in caplog.text


def test_enqueues_share_one_redis_client_per_queue_settings(task_queue, settings):
    """django-rq's queues reuse one Redis client per process (no TCP connection per task);
    other connection settings get their own."""
    first = django_rq.get_queue("default").connection
    assert django_rq.get_queue("default").connection is first
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:6379/15"}}
    assert django_rq.get_queue("default").connection is not first


# --- Retries of one-off tasks ---------------------------------------------------------------
def _failing_order_email(monkeypatch, failures: int) -> list[str]:
    """orders' email sender fails its first `failures` calls (a provider's outage), then sends;
    returns the log of attempts."""
    from orders import emails

    attempts: list[str] = []
    send = emails.send_order_email

    def flaky(**kwargs):
        attempts.append(kwargs["template"])
        if len(attempts) <= failures:
            raise ConnectionError("email provider unreachable")
        return send(**kwargs)

    monkeypatch.setattr(emails, "send_order_email", flaky)
    return attempts


def _queue_confirmation(capture) -> Order:
    order = paid_order()
    mail.outbox.clear()
    with capture(execute=True):
        queue_order_email(template="order_confirmed", order_id=order.pk, to_buyer=True)
    return order


def test_a_one_off_task_that_fails_is_retried_and_its_email_sent(
    task_queue, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """The email provider fails twice; the worker tries the task again (no delay here) and the
    buyer gets exactly one email. Nothing is left failed."""
    settings.TASK_RETRY_DELAYS = [0, 0, 0]
    attempts = _failing_order_email(monkeypatch, failures=2)
    order = _queue_confirmation(django_capture_on_commit_callbacks)

    _work()

    assert attempts == ["order_confirmed"] * 3
    assert [message.to for message in mail.outbox] == [[order.buyer.email]]
    assert task_queue.failed_job_registry.count == 0
    assert task_queue.count == 0


def test_a_task_failing_every_time_is_kept_as_failed_after_its_last_retry(
    task_queue, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """One try and one per delay, then the task is in the failed registry (the health check
    counts it), as a task without retries would be."""
    settings.TASK_RETRY_DELAYS = [0, 0]
    attempts = _failing_order_email(monkeypatch, failures=99)
    _queue_confirmation(django_capture_on_commit_callbacks)

    _work()

    assert len(attempts) == 3
    assert mail.outbox == []
    assert task_queue.failed_job_registry.count == 1


def test_a_retry_waits_its_delay_in_the_scheduled_registry(
    task_queue, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """With a delay, the failed task waits for it among RQ's scheduled jobs (a worker's
    scheduler queues it when due); it is neither queued nor failed meanwhile."""
    settings.TASK_RETRY_DELAYS = [600]
    attempts = _failing_order_email(monkeypatch, failures=1)
    _queue_confirmation(django_capture_on_commit_callbacks)

    before = datetime.now(UTC)
    _work()

    assert len(attempts) == 1
    registry = task_queue.scheduled_job_registry
    assert registry.count == 1
    (job_id,) = registry.get_job_ids()
    due = registry.get_scheduled_time(job_id)
    assert before + timedelta(seconds=590) < due < before + timedelta(seconds=700)
    assert task_queue.count == 0
    assert task_queue.failed_job_registry.count == 0


def test_periodic_jobs_and_no_retries_setting_fail_at_once(
    task_queue, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """A periodic job isn't retried (its next slot runs it again), and TASK_RETRY_DELAYS empty
    turns retries off for one-off tasks too."""
    settings.TASK_RETRY_DELAYS = [0, 0]
    runs: list[str] = []

    def fail(name, *args, **kwargs):
        runs.append(name)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(jobs, "call_command", fail)
    run_periodic_job.enqueue("offers_expire")
    _work()
    assert runs == ["offers_expire"]  # once: no retry (with delays of 0 it would run 3 times)
    assert task_queue.failed_job_registry.count == 1

    settings.TASK_RETRY_DELAYS = []
    attempts = _failing_order_email(monkeypatch, failures=99)
    _queue_confirmation(django_capture_on_commit_callbacks)
    _work()
    assert len(attempts) == 1
    assert task_queue.failed_job_registry.count == 2
