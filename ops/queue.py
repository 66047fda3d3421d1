"""The task queue behind TASK_QUEUE_URL: RQ (Redis Queue), through django-rq and django-tasks-rq.

Tasks are written and enqueued with Django's own `django.tasks` (`@task`, `.enqueue()`); the
`django_tasks_rq.RQBackend` named in settings.TASKS stores them in Redis, and `run_worker`
processes work through them with the worker classes of ops.worker. This module holds the
queue's connection and the counts the health check reads (RQ's registries); it imports no
other ops module, so the health check, the scheduler and the worker all import it. Without
TASK_QUEUE_URL nothing here is used: tasks run at `enqueue()`.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import django_rq
import django_rq.queues
from django.conf import settings
from django_rq.connection_utils import filter_connection_params, get_redis_connection
from django_rq.queues import DjangoRQ
from redis import Redis
from rq import Retry, Worker
from rq.cron import CronScheduler
from rq.job import Job

logger = logging.getLogger(__name__)
QUEUE_NAME = "default"
# Tasks whose failures are not retried: a periodic job's next slot runs it again anyway.
NOT_RETRIED = frozenset({"ops.tasks.run_periodic_job"})


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


class RetryingQueue(DjangoRQ):
    """The queue class of settings.RQ: every one-off task is created with RQ's `Retry`, one
    retry after each of settings.TASK_RETRY_DELAYS, so a provider's outage of a few minutes
    delays an email or an index update instead of losing it. Tasks are safe to run twice.

    A retry waits in RQ's scheduled registry until a worker's scheduler (`run_worker` runs one)
    queues it again; after the last, the task is kept as failed, as without retries (the
    health check counts those). django-tasks-rq creates its jobs with `create_job`, which takes
    no retry of its own, so the queue adds it."""

    def create_job(
        self, func: Callable[..., Any] | str, *args: Any, retry: Retry | None = None, **kwargs: Any
    ) -> Job:
        delays = settings.TASK_RETRY_DELAYS
        if retry is None and delays and _function_path(func) not in NOT_RETRIED:
            retry = Retry(max=len(delays), interval=list(delays))
        return super().create_job(func, *args, retry=retry, **kwargs)


def _function_path(func: object) -> str:
    """The dotted path RQ stores for a job's function (django-tasks-rq passes it as text)."""
    if isinstance(func, str):
        return func
    return f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', '')}"
