"""Shared helpers for the realtime tests: the participant check patched, and a tiny page that
loads the real realtime client (templates/realtime/_client.html) for browser tests."""

import sys
import types
from collections.abc import Callable

import pytest
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

from messaging.realtime.page import realtime_page_context


class ParticipantCheck:
    """Stands in for messaging.selectors.conversation_participant; `answer` says who takes
    part, `calls` what was asked."""

    def __init__(self) -> None:
        self.answer: Callable[..., bool] = lambda *, user, conversation_id: False
        self.calls: list[tuple[int, int]] = []

    def __call__(self, *, user, conversation_id: int) -> bool:
        self.calls.append((user.pk, conversation_id))
        return self.answer(user=user, conversation_id=conversation_id)

    def allow(self, conversation_id: int) -> None:
        self.answer = lambda *, user, conversation_id, _id=conversation_id: conversation_id == _id


@pytest.fixture
def participant_check(monkeypatch) -> ParticipantCheck:
    """messaging.selectors.conversation_participant, patched (and stubbed where the messaging
    models are not merged in yet)."""
    try:
        import messaging.selectors as selectors
    except ImportError:
        selectors = types.ModuleType("messaging.selectors")
        monkeypatch.setitem(sys.modules, "messaging.selectors", selectors)
    check = ParticipantCheck()
    monkeypatch.setattr(selectors, "conversation_participant", check, raising=False)
    return check


# --- A tiny page with the realtime client, for browser tests ---------------------------------
# Use with @pytest.mark.urls("messaging.tests.realtime_support"): the project's URLs plus
# /realtime-test/?channel=...&channel=... (subscribes to the channels given).
PAGE = """{% load static %}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Realtime test</title>
<link rel="icon" href="{% static 'img/favicon.svg' %}"></head>
<body><main><h1>Realtime test</h1></main>{% include "realtime/_client.html" %}</body></html>"""


def realtime_test_page(request: HttpRequest) -> HttpResponse:
    context = realtime_page_context(channels=request.GET.getlist("channel"))
    return HttpResponse(engines["django"].from_string(PAGE).render(context, request))


urlpatterns = [
    path("realtime-test/", realtime_test_page, name="realtime_test_page"),
    path("", include("threadly.urls")),
]
