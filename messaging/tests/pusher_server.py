"""A local Pusher-protocol server on 127.0.0.1, for tests of the Pusher path end to end.

One port serves both halves of Pusher Channels, as soketi does:
- the HTTP trigger API the `pusher` SDK calls: POST /apps/<app_id>/events (and
  /batch_events), with the request signature checked exactly as Pusher checks it (401 on a bad
  one); triggered events are recorded and delivered to the subscribed sockets;
- the WebSocket protocol pusher-js speaks (protocol 7) at /app/<key>:
  pusher:connection_established, pusher:subscribe (a private channel needs
  auth = key:HMAC-SHA256(secret, "socket_id:channel")), pusher:ping -> pusher:pong, and events
  delivered as {"event", "channel", "data": <JSON string>}.

It runs aiohttp (already locked: the pusher SDK depends on it) in a background thread.
`pusher_server` is the pytest fixture (it also points the PUSHER_* settings and the CSP
connect-src at the server); `PusherSocket` is a small stand-in for pusher-js.
"""

import asyncio
import hashlib
import hmac
import itertools
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import ClientSession, WSMsgType, web
from django.utils.csp import CSP

from threadly.settings import pusher_connect_src

APP_ID = "4242"
KEY = "threadly-test-key"
SECRET = "threadly-test-secret"  # noqa: S105 - a test secret
TIMESTAMP_GRACE_SECONDS = 600  # Pusher refuses requests signed more than 10 minutes away
WAIT_SECONDS = 30.0  # an upper bound for waits on a busy machine, never a sleep


def sign(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def channel_auth(*, key: str, secret: str, socket_id: str, channel: str) -> str:
    """The `auth` a private subscription must carry: key:HMAC-SHA256(secret, socket:channel)."""
    return f"{key}:{sign(secret, f'{socket_id}:{channel}')}"


@dataclass(frozen=True)
class TriggeredEvent:
    channel: str
    name: str
    data: Any  # decoded from the JSON string the SDK sent
    socket_id: str | None = None


@dataclass
class _Connection:
    socket_id: str
    ws: web.WebSocketResponse
    channels: set[str] = field(default_factory=set)


class PusherServer:
    """Start with `with PusherServer() as server:`; `server.port` is the (random) port."""

    def __init__(self, *, app_id: str = APP_ID, key: str = KEY, secret: str = SECRET) -> None:
        self.app_id = app_id
        self.key = key
        self.secret = secret
        self.host = "127.0.0.1"
        self.port = 0
        self.events: list[TriggeredEvent] = []
        self.rejected_requests: list[str] = []  # why each trigger request got a 4xx
        self.subscription_errors: list[tuple[str, str]] = []  # (socket_id, channel)
        self.stall_triggers = False  # answer no trigger request until stop(): timeouts
        self._connections: dict[str, _Connection] = {}
        self._socket_ids = itertools.count(123)
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._release: asyncio.Event | None = None

    # --- Life cycle ------------------------------------------------------------------------
    def __enter__(self) -> "PusherServer":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()
        self.run(self._start())

    def stop(self) -> None:
        try:
            self.run(self._stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=WAIT_SECONDS)
            self._loop.close()

    def run(self, coroutine: Any, timeout: float = WAIT_SECONDS) -> Any:
        """Run a coroutine on the server's event loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _start(self) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_post("/apps/{app_id}/events", self._trigger)
        app.router.add_post("/apps/{app_id}/batch_events", self._trigger_batch)
        app.router.add_get("/app/{key}", self._websocket)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _stop(self) -> None:
        self._release.set()
        for connection in list(self._connections.values()):
            await connection.ws.close()
        await self._runner.cleanup()

    # --- What tests read -------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def settings_for(self, *, secret: str | None = None) -> dict[str, Any]:
        """The PUSHER_* settings that point the SDK and pusher-js here."""
        return {
            "PUSHER_APP_ID": self.app_id,
            "PUSHER_KEY": self.key,
            "PUSHER_SECRET": secret or self.secret,
            "PUSHER_CLUSTER": "eu",
            "PUSHER_HOST": self.host,
            "PUSHER_PORT": self.port,
            "PUSHER_SCHEME": "http",
        }

    def subscribers(self, channel: str) -> list[str]:
        return [c.socket_id for c in self._connections.values() if channel in c.channels]

    def wait_until(self, predicate: Callable[[], bool], timeout: float = WAIT_SECONDS) -> bool:
        """Wait (without polling) until `predicate()` holds; False if it never did."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def wait_for_subscriber(self, channel: str, timeout: float = WAIT_SECONDS) -> str:
        """The socket id of the first socket subscribed to `channel` (AssertionError if none)."""
        assert self.wait_until(lambda: bool(self.subscribers(channel)), timeout), (
            f"nobody subscribed to {channel} (errors: {self.subscription_errors})"
        )
        return self.subscribers(channel)[0]

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    # --- HTTP API --------------------------------------------------------------------------
    def signature_problem(self, request: web.Request, body: bytes) -> str | None:
        """Why Pusher would refuse this signed request, or None: the query's auth_key,
        auth_timestamp, auth_version and body_md5, and auth_signature = HMAC-SHA256 with the
        secret of "METHOD\\n/path\\nsorted key=value pairs without auth_signature"."""
        params = dict(request.rel_url.query)
        signature = params.pop("auth_signature", "")
        if params.get("auth_key") != self.key:
            return "unknown auth_key"
        if params.get("auth_version") != "1.0":
            return "auth_version must be 1.0"
        try:
            skew = abs(time.time() - int(params.get("auth_timestamp", "")))
        except ValueError:
            return "auth_timestamp missing"
        if skew > TIMESTAMP_GRACE_SECONDS:
            return "auth_timestamp too far from now"
        if body and params.get("body_md5") != hashlib.md5(body).hexdigest():  # noqa: S324
            return "body_md5 does not match the body"
        query = "&".join(f"{name}={value}" for name, value in sorted(params.items()))
        expected = sign(self.secret, f"{request.method}\n{request.path}\n{query}")
        if not hmac.compare_digest(expected, signature):
            return "invalid auth_signature"
        return None

    async def _checked_body(self, request: web.Request) -> dict | web.Response:
        if request.match_info["app_id"] != self.app_id:
            return web.Response(status=404, text="Unknown app")
        body = await request.read()
        if problem := self.signature_problem(request, body):
            self.rejected_requests.append(problem)
            self._notify()
            return web.Response(status=401, text=f"Invalid signature: {problem}")
        if self.stall_triggers:
            await self._release.wait()
            return web.Response(status=503, text="stalled")
        try:
            payload = json.loads(body)
        except ValueError:
            return web.Response(status=400, text="Body is not JSON")
        return payload if isinstance(payload, dict) else web.Response(status=400, text="Not {}")

    async def _trigger(self, request: web.Request) -> web.Response:
        payload = await self._checked_body(request)
        if isinstance(payload, web.Response):
            return payload
        channels = payload.get("channels") or [payload.get("channel")]
        if not payload.get("name") or not isinstance(payload.get("data"), str) or None in channels:
            return web.Response(status=400, text="name, data and channels are required")
        for channel in channels:
            await self._deliver(channel, payload["name"], payload["data"], payload.get("socket_id"))
        return web.json_response({})

    async def _trigger_batch(self, request: web.Request) -> web.Response:
        payload = await self._checked_body(request)
        if isinstance(payload, web.Response):
            return payload
        for item in payload.get("batch") or []:
            await self._deliver(item["channel"], item["name"], item["data"], item.get("socket_id"))
        return web.json_response({"batch": [{} for _ in payload.get("batch") or []]})

    async def _deliver(self, channel: str, name: str, data: str, socket_id: str | None) -> None:
        try:
            decoded = json.loads(data)
        except ValueError:
            decoded = data
        self.events.append(TriggeredEvent(channel, name, decoded, socket_id))
        message = json.dumps({"event": name, "channel": channel, "data": data})
        for connection in list(self._connections.values()):
            if channel in connection.channels and connection.socket_id != socket_id:
                await connection.ws.send_str(message)
        self._notify()

    # --- WebSocket protocol ----------------------------------------------------------------
    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if request.match_info["key"] != self.key:
            await self._send(ws, "pusher:error", {"code": 4001, "message": "App key not found"})
            await ws.close(code=4001)
            return ws
        socket_id = f"{next(self._socket_ids)}.{456}"
        connection = _Connection(socket_id=socket_id, ws=ws)
        self._connections[socket_id] = connection
        data = json.dumps({"socket_id": socket_id, "activity_timeout": 120})
        await self._send(ws, "pusher:connection_established", data)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    await self._handle(connection, message.data)
        finally:
            self._connections.pop(socket_id, None)
            self._notify()
        return ws

    @staticmethod
    async def _send(ws: web.WebSocketResponse, event: str, data: Any, **extra: str) -> None:
        await ws.send_str(json.dumps({"event": event, "data": data, **extra}))

    async def _handle(self, connection: _Connection, text: str) -> None:
        try:
            message = json.loads(text)
            event, data = message["event"], message.get("data") or {}
        except (ValueError, KeyError, TypeError):
            await self._send(connection.ws, "pusher:error", {"code": None, "message": "Bad JSON"})
            return
        if isinstance(data, str):  # pusher-js sends objects; some clients send JSON strings
            data = json.loads(data or "{}")
        if event == "pusher:ping":
            await self._send(connection.ws, "pusher:pong", "{}")
        elif event == "pusher:subscribe":
            await self._subscribe(connection, str(data.get("channel", "")), data.get("auth"))
        elif event == "pusher:unsubscribe":
            connection.channels.discard(str(data.get("channel", "")))
            self._notify()

    async def _subscribe(self, connection: _Connection, channel: str, auth: Any) -> None:
        if channel.startswith("private-"):
            expected = channel_auth(
                key=self.key, secret=self.secret, socket_id=connection.socket_id, channel=channel
            )
            if not isinstance(auth, str) or not hmac.compare_digest(auth, expected):
                self.subscription_errors.append((connection.socket_id, channel))
                self._notify()
                error = {"code": None, "message": f"Invalid signature for {channel}"}
                await self._send(connection.ws, "pusher:error", error)
                return
        elif channel.startswith("presence-") or not channel:
            await self._send(connection.ws, "pusher:error", {"code": None, "message": "No"})
            return
        connection.channels.add(channel)
        await self._send(
            connection.ws, "pusher_internal:subscription_succeeded", "{}", channel=channel
        )
        self._notify()


class PusherSocket:
    """A pusher-js stand-in: a WebSocket client of the server, with a message queue."""

    def __init__(self, server: PusherServer, *, key: str | None = None) -> None:
        self.server = server
        self.messages: queue.Queue[dict] = queue.Queue()
        self.socket_id = ""
        self._ws = None
        self._session: ClientSession | None = None
        self._reader: asyncio.Future | None = None
        server.run(self._connect(key or server.key))

    async def _connect(self, key: str) -> None:
        self._session = ClientSession()
        self._ws = await self._session.ws_connect(f"{self.server.url}/app/{key}?protocol=7")
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type == WSMsgType.TEXT:
                self.messages.put(json.loads(message.data))

    def receive(self, timeout: float = WAIT_SECONDS) -> dict:
        return self.messages.get(timeout=timeout)

    def established(self) -> str:
        message = self.receive()
        assert message["event"] == "pusher:connection_established", message
        self.socket_id = json.loads(message["data"])["socket_id"]
        return self.socket_id

    def send(self, event: str, data: Any) -> None:
        self.server.run(self._ws.send_str(json.dumps({"event": event, "data": data})))

    def subscribe(self, channel: str, auth: str | None = None) -> dict:
        """Subscribe and return the server's answer (succeeded or pusher:error)."""
        self.send("pusher:subscribe", {"channel": channel, **({"auth": auth} if auth else {})})
        return self.receive()

    def close(self) -> None:
        async def close() -> None:
            await self._ws.close()
            await self._session.close()

        self.server.run(close())


@pytest.fixture
def pusher_server(settings) -> Iterator[PusherServer]:
    """A running local Pusher server, with the PUSHER_* settings (and the CSP connect-src, for
    browser tests) pointing at it, so get_backend() is the real Pusher backend."""
    with PusherServer() as server:
        for name, value in server.settings_for().items():
            setattr(settings, name, value)
        connect_src = pusher_connect_src(
            cluster="eu", host=server.host, port=server.port, scheme="http"
        )
        settings.SECURE_CSP = {
            **settings.SECURE_CSP,
            "connect-src": [CSP.SELF, *connect_src],
        }
        yield server
