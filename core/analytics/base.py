"""The analytics adapter's own types: the event, the backend protocol and the local recorder
(the default backend with no keys)."""

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

logger = logging.getLogger("core.analytics")


@dataclass(frozen=True)
class Event:
    distinct_id: str
    name: str
    properties: dict[str, Any] = field(default_factory=dict)


class AnalyticsBackend(Protocol):
    def capture(self, event: Event) -> None: ...


class LocalRecorder:
    """The default: keeps the last events in memory (tests read `events`) and logs them."""

    max_events = 1000

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def capture(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)
            del self.events[: -self.max_events]
        logger.debug("analytics event %s %s", event.name, event.properties)

    def clear(self) -> None:
        with self._lock:
            self.events.clear()
