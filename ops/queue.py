"""The task queue behind TASK_QUEUE_URL: RQ (Redis Queue), through django-rq and django-tasks-rq.

Tasks are written and enqueued with Django's own `django.tasks` (`@task`, `.enqueue()`); the
`django_tasks_rq.RQBackend` named in settings.TASKS stores them in Redis, and `run_worker`
processes work through them here. This module is the only place that knows RQ's worker and
registry classes: the worker classes Threadly runs, the queue's connection, and the counts the
health check reads. Without TASK_QUEUE_URL nothing here is used: tasks run at `enqueue()`.
"""

import logging
import threading
from dataclasses import dataclass

import django_rq
import django_rq.queues
from django.conf import settings
from django.db import connections
from django_rq.connection_utils import filter_connection_params, get_redis_connection
from django_tasks_rq import Job
from redis import Redis
from rq import SimpleWorker, Worker
from rq.cron import CronScheduler

from core import analytics

logger = logging.getLogger(__name__)
QUEUE_NAME = "default"
# Seconds between a worker's upkeep runs (RQ's "maintenance": registry clean-up, and ours).
UPKEEP_SECONDS = 60


def queue_enabled() -> bool:
    """Whether tasks go to the Redis queue (TASK_QUEUE_URL set) rather than run at once."""
    return bool(settings.TASK_QUEUE_URL)


_connections: dict[str, Redis] = {}
_connections_lock = threading.Lock()


def shared_connection(name: str = QUEUE_NAME, use_strict_redis: bool = False) -> Redis:
    """The queue's Redis client, one per process and connection settings.

    django-rq builds a new client, with a new connection pool, at every `get_queue()`, so each
    enqueue would open a TCP connection (and redis-py would read its own version from the
    package metadata): about 10 ms a task. This keeps one client (thread-safe, its pool
    resets itself in a forked child) for each RQ_QUEUES entry's connection settings, read at
    call time so tests can point the queue elsewhere."""
    config = django_rq.settings.QUEUES[name]
    key = repr(sorted(filter_connection_params(config).items())) + repr(use_strict_redis)
    client = _connections.get(key)
    if client is None:
        with _connections_lock:
            client = _connections.get(key)
            if client is None:
                client = _connections[key] = get_redis_connection(config, use_strict_redis)
    return client


def install_shared_connection() -> None:
    """Make django-rq (and so django-tasks-rq's backend) use `shared_connection` (apps.ready)."""
    django_rq.queues.get_connection = shared_connection
    django_rq.get_connection = shared_connection


def connection(*, timeout: float | None = None) -> Redis:
    """A Redis connection to the task queue. `timeout` (seconds) bounds connect and each
    command, for callers that must answer fast (the health check)."""
    if timeout is None:
        return django_rq.get_connection(QUEUE_NAME)
    return Redis.from_url(
        settings.TASK_QUEUE_URL, socket_connect_timeout=timeout, socket_timeout=timeout
    )


class _ThreadlyWorkerMixin:
    """What every Threadly worker adds to RQ's: database connections are never shared with a
    forked job, analytics queued by a job are sent before the job's process ends, and the
    worker's own upkeep (ops.scheduler.worker_upkeep) runs with RQ's maintenance."""

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()  # type: ignore[misc]
        from ops.scheduler import worker_upkeep  # the scheduler imports this module

        worker_upkeep(heartbeat=False)

    def perform_job(self, job: Job, queue: django_rq.queues.DjangoRQ) -> bool:
        try:
            return super().perform_job(job, queue)  # type: ignore[misc]
        finally:
            # A forked job ends with os._exit: the PostHog SDK's queue would be lost unsent.
            analytics.flush()


class ThreadlyWorker(_ThreadlyWorkerMixin, Worker):
    """RQ's forking worker: each job runs in a child process, so a crash or a leak in one job
    never takes the worker down."""

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        connections.close_all()  # the upkeep's; a forked job must not inherit them

    def fork_work_horse(self, job: Job, queue: django_rq.queues.DjangoRQ) -> None:
        # The child must open its own database connections, never reuse the parent's socket.
        connections.close_all()
        super().fork_work_horse(job, queue)


class InProcessWorker(_ThreadlyWorkerMixin, SimpleWorker):
    """Runs each job in the worker's own process (`run_worker --no-fork`): for tests, which
    need the job to see their database transaction, and for debugging a job."""


def get_worker(*, fork: bool = True) -> Worker:
    """A worker on Threadly's queue, with django-tasks-rq's Job class (it runs django.tasks)."""
    return django_rq.get_worker(
        QUEUE_NAME,
        job_class=Job,
        worker_class=ThreadlyWorker if fork else InProcessWorker,
        maintenance_interval=UPKEEP_SECONDS,
    )


@dataclass(frozen=True)
class QueueState:
    workers: int
    schedulers: int
    queued: int
    failed: int

    def describe(self) -> str:
        return (
            f"{self.workers} worker(s), {self.schedulers} scheduler(s), "
            f"{self.queued} queued, {self.failed} failed"
        )


def queue_state(*, timeout: float = 1.0) -> QueueState:
    """What RQ's registries say: live workers and cron schedulers (each registers itself and
    its heartbeat in Redis), jobs waiting and jobs failed. Raises redis errors."""
    redis = connection(timeout=timeout)
    queue = django_rq.get_queue(QUEUE_NAME, connection=redis)
    return QueueState(
        workers=Worker.count(queue=queue),
        schedulers=len(CronScheduler.all(redis)),
        queued=queue.count,
        failed=queue.failed_job_registry.count,
    )
