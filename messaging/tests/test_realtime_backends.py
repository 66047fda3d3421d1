"""The realtime adapter: the local default, and the Pusher backend through the real `pusher` SDK
against the local Pusher-protocol server (messaging/tests/pusher_server.py)."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from messaging.realtime import (
    EVENT_MESSAGE,
    EVENT_UNREAD,
    LocalBackend,
    RealtimeError,
    conversation_channel,
    get_backend,
    user_channel,
)
from messaging.realtime.checks import realtime_settings_check
from messaging.realtime.page import config_json, realtime_page_context
from messaging.realtime.pusher import PusherBackend
from messaging.tests.pusher_server import (
    PusherServer,
    PusherSocket,
    channel_auth,
)
from threadly.settings import pusher_connect_src


def backend_for(server: PusherServer, **overrides) -> PusherBackend:
    options = {
        name.removeprefix("PUSHER_").lower(): value for name, value in server.settings_for().items()
    }
    return PusherBackend(**{**options, **overrides})


def subscribed_socket(server: PusherServer, channel: str) -> PusherSocket:
    """A socket subscribed to `channel` with the signature our backend made."""
    sock = PusherSocket(server)
    socket_id = sock.established()
    auth = backend_for(server).authorize(socket_id=socket_id, channel=channel)["auth"]
    answer = sock.subscribe(channel, auth)
    assert answer["event"] == "pusher_internal:subscription_succeeded", answer
    return sock


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def no_pusher(settings):
    settings.PUSHER_APP_ID = settings.PUSHER_KEY = settings.PUSHER_SECRET = ""


# --- Choosing the backend --------------------------------------------------------------------
def test_without_pusher_keys_the_local_backend_pushes_nothing_and_pages_poll(no_pusher):
    """No keys: LocalBackend; publishing is a no-op, there is no client config, no signing."""
    backend = get_backend()
    assert isinstance(backend, LocalBackend)
    assert backend.name == "local"
    backend.publish(channels=[user_channel(1)], event=EVENT_UNREAD, data={"count": 1})
    assert backend.client_config(channels=[user_channel(1)]) is None
    with pytest.raises(RealtimeError):
        backend.authorize(socket_id="1.2", channel=user_channel(1))


def test_pusher_is_chosen_only_when_app_id_key_and_secret_are_all_set(settings, no_pusher):
    """Any of the three keys missing keeps the local default; all three pick Pusher."""
    settings.PUSHER_APP_ID, settings.PUSHER_KEY = "1", "key"
    assert get_backend().name == "local"
    settings.PUSHER_SECRET = "secret"  # noqa: S105
    assert get_backend().name == "pusher"


def test_channel_names_follow_the_contract():
    """Conversation and user channels are private, named by id."""
    assert conversation_channel(12) == "private-conversation-12"
    assert user_channel(5) == "private-user-5"


# --- Publishing through the SDK ----------------------------------------------------------------
def test_publish_delivers_the_event_to_a_subscribed_socket(pusher_server):
    """publish() goes through the SDK's signed trigger call; the subscriber gets channel, name
    and data."""
    channel = conversation_channel(7)
    sock = subscribed_socket(pusher_server, channel)
    data = {"conversation_id": 7, "message_id": 99}

    get_backend().publish(channels=[channel], event=EVENT_MESSAGE, data=data)

    message = sock.receive()
    assert (message["event"], message["channel"]) == ("message", channel)
    assert json.loads(message["data"]) == data
    assert [(e.channel, e.name, e.data) for e in pusher_server.events] == [
        (channel, "message", data)
    ]
    sock.close()


def test_publish_to_many_channels_reaches_each_in_calls_of_at_most_100(pusher_server):
    """Pusher takes 100 channels per call: 150 channels are split, none is lost."""
    channels = [user_channel(n) for n in range(1, 151)]
    get_backend().publish(channels=channels, event=EVENT_UNREAD, data={"count": 3})
    assert sorted(e.channel for e in pusher_server.events) == sorted(channels)


def test_publish_with_a_wrong_secret_raises_realtime_error_with_the_401(pusher_server):
    """The server refuses the signature (401): RealtimeError with the status, nothing sent."""
    backend = backend_for(pusher_server, secret="not-the-secret")  # noqa: S106
    with pytest.raises(RealtimeError) as error:
        backend.publish(channels=[user_channel(1)], event=EVENT_UNREAD, data={"count": 1})
    assert error.value.context["status"] == 401
    assert error.value.context["channels"] == [user_channel(1)]
    assert pusher_server.rejected_requests == ["invalid auth_signature"]
    assert pusher_server.events == []


def test_publish_when_the_server_is_down_fails_fast():
    """Nothing listening: RealtimeError at once, not a hung task."""
    backend = PusherBackend(
        app_id="1", key="k", secret="s", cluster="eu", host="127.0.0.1", port=closed_port(),
        scheme="http",
    )  # fmt: skip
    started = time.monotonic()
    with pytest.raises(RealtimeError) as error:
        backend.publish(channels=[user_channel(1)], event=EVENT_UNREAD, data={"count": 1})
    assert time.monotonic() - started < 3
    assert "ConnectionError" in error.value.context["error"]


def test_publish_to_a_server_that_never_answers_times_out(pusher_server):
    """A Pusher that accepts the connection but never answers: the timeout ends the call."""
    pusher_server.stall_triggers = True
    backend = backend_for(pusher_server, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(RealtimeError) as error:
        backend.publish(channels=[user_channel(1)], event=EVENT_UNREAD, data={"count": 1})
    assert time.monotonic() - started < 5
    assert "Timeout" in error.value.context["error"]


def test_invalid_pusher_settings_fail_the_call_not_the_page(pusher_server):
    """A non-numeric app id: client_config still renders; publish raises RealtimeError."""
    backend = backend_for(pusher_server, app_id="not-a-number")
    assert backend.client_config(channels=[])["key"] == pusher_server.key
    with pytest.raises(RealtimeError):
        backend.publish(channels=[user_channel(1)], event=EVENT_UNREAD, data={"count": 1})


# --- Signing subscriptions ---------------------------------------------------------------------
def test_authorize_signs_as_the_server_checks(pusher_server):
    """authorize() gives key:HMAC-SHA256(secret, "socket:channel"), which the server accepts."""
    answer = get_backend().authorize(socket_id="123.456", channel=user_channel(4))
    assert answer == {
        "auth": channel_auth(
            key=pusher_server.key,
            secret=pusher_server.secret,
            socket_id="123.456",
            channel=user_channel(4),
        )
    }
    sock = subscribed_socket(pusher_server, user_channel(4))  # accepted by the server's check
    assert pusher_server.subscribers(user_channel(4)) == [sock.socket_id]
    sock.close()


def test_a_signature_for_another_socket_is_refused_by_the_server(pusher_server):
    """The signature binds the socket id: replaying one made for another socket fails."""
    sock = PusherSocket(pusher_server)
    sock.established()
    stolen = get_backend().authorize(socket_id="999.999", channel=user_channel(4))["auth"]
    answer = sock.subscribe(user_channel(4), stolen)
    assert answer["event"] == "pusher:error"
    assert pusher_server.subscribers(user_channel(4)) == []
    sock.close()


@pytest.mark.parametrize(
    ("socket_id", "channel"),
    [("not-a-socket", user_channel(1)), ("1.2", "bad channel name"), ("1.2", "")],
)
def test_authorize_refuses_malformed_input(pusher_server, socket_id, channel):
    """The SDK's own validation becomes a RealtimeError."""
    with pytest.raises(RealtimeError):
        get_backend().authorize(socket_id=socket_id, channel=channel)


def test_server_answers_ping_with_pong(pusher_server):
    """The protocol's keep-alive (pusher-js pings when idle) is answered."""
    sock = PusherSocket(pusher_server)
    sock.established()
    sock.send("pusher:ping", {})
    assert sock.receive()["event"] == "pusher:pong"
    sock.close()


# --- What the browser is given ------------------------------------------------------------------
def test_client_config_for_pusher_cluster(settings):
    """Without PUSHER_HOST the browser connects to Pusher's cluster host over TLS."""
    backend = PusherBackend(app_id="1", key="pk", secret="s", cluster="mt1")
    assert backend.client_config(channels=[user_channel(2)]) == {
        "key": "pk",
        "cluster": "mt1",
        "wsHost": "ws-mt1.pusher.com",
        "wsPort": 443,
        "forceTLS": True,
        "authEndpoint": "/pusher/auth",
        "channels": ["private-user-2"],
    }


def test_client_config_for_a_self_hosted_server(pusher_server):
    """PUSHER_HOST/PORT/SCHEME=http: the browser connects there, without TLS."""
    config = get_backend().client_config(channels=[conversation_channel(1)])
    assert (config["wsHost"], config["wsPort"], config["forceTLS"]) == (
        "127.0.0.1",
        pusher_server.port,
        False,
    )


@pytest.mark.parametrize(
    ("host", "port", "scheme", "sources"),
    [
        ("", 0, "https", ["wss://ws-eu.pusher.com", "https://sockjs-eu.pusher.com"]),
        ("soketi.example.com", 0, "https", ["wss://soketi.example.com"]),
        ("soketi.example.com", 6001, "https", ["wss://soketi.example.com:6001"]),
        ("127.0.0.1", 6001, "http", ["ws://127.0.0.1:6001"]),
    ],
)
def test_csp_connect_src_follows_the_pusher_settings(host, port, scheme, sources):
    """The CSP lets pusher-js reach exactly the host the settings point it at."""
    assert pusher_connect_src(cluster="eu", host=host, port=port, scheme=scheme) == sources


def settings_csp_with(**env_values: str) -> subprocess.CompletedProcess:
    """The connect-src a fresh interpreter's settings build from these variables."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "threadly.settings",
        **env_values,
    }
    code = "from django.conf import settings; print(settings.SECURE_CSP['connect-src'][1:])"
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_settings_add_the_pusher_hosts_to_the_csp_only_when_pusher_is_configured():
    """The real settings: no keys, no extra source; keys, the cluster's hosts; a self-hosted
    server, its origin; a scheme other than http(s) refuses to start."""
    keys = {"PUSHER_APP_ID": "1", "PUSHER_KEY": "k", "PUSHER_SECRET": "s", "PUSHER_CLUSTER": "ap1"}
    assert settings_csp_with().stdout.strip() == "[]"
    assert settings_csp_with(**keys).stdout.strip() == str(
        ["wss://ws-ap1.pusher.com", "https://sockjs-ap1.pusher.com"]
    )
    soketi = {"PUSHER_HOST": "rt.example.com", "PUSHER_PORT": "6001", "PUSHER_SCHEME": "https"}
    assert settings_csp_with(**keys, **soketi).stdout.strip() == str(["wss://rt.example.com:6001"])
    refused = settings_csp_with(**keys, PUSHER_SCHEME="ftp")
    assert refused.returncode != 0
    assert "PUSHER_SCHEME" in refused.stderr


@pytest.mark.django_db  # the project's context processors read the menu
def test_page_context_is_empty_without_pusher(no_pusher):
    """The local default renders no realtime client: the page polls."""
    assert realtime_page_context(channels=[user_channel(1)]) == {}
    html = render_to_string("realtime/_client.html", {}, RequestFactory().get("/"))
    assert html.strip() == ""


@pytest.mark.django_db
def test_page_includes_config_and_scripts_with_the_csp_nonce(pusher_server):
    """With Pusher the include renders the JSON config, a CSRF token and both scripts, each
    with the request's nonce (the CSP allows nothing else)."""
    request = RequestFactory().get("/")
    request._csp_nonce = "n0nce"
    context = {"csp_nonce": "n0nce", **realtime_page_context(channels=[user_channel(3)])}
    html = render_to_string("realtime/_client.html", context, request)
    assert '<script id="realtime-config" type="application/json" nonce="n0nce">' in html
    assert '"channels": ["private-user-3"]' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'vendor/pusher.min.js" nonce="n0nce" defer></script>' in html
    assert 'js/realtime.js" nonce="n0nce" defer></script>' in html


def test_config_json_cannot_close_its_script_element():
    """<, > and & are escaped as in Django's json_script."""
    text = config_json({"key": "</script><b>&"})
    assert not {"<", ">", "&"} & set(text)
    assert json.loads(text) == {"key": "</script><b>&"}


# --- Start-up check -----------------------------------------------------------------------------
def test_check_names_the_missing_pusher_variable(settings, no_pusher):
    """Half-configured Pusher is an error naming what is missing; none or all is fine."""
    assert realtime_settings_check(None) == []
    settings.PUSHER_APP_ID, settings.PUSHER_KEY = "123", "key"
    [problem] = realtime_settings_check(None)
    assert problem.id == "realtime.E001"
    assert "PUSHER_SECRET" in problem.msg
    settings.PUSHER_SECRET = "secret"  # noqa: S105
    assert realtime_settings_check(None) == []
    settings.PUSHER_APP_ID = "my-app"
    assert [p.id for p in realtime_settings_check(None)] == ["realtime.E002"]
