"""core.request_memo: a value is worked out once per request and never outlives it."""

import pytest
from django.core.signals import request_finished, request_started

from core.request_memo import request_memo, request_memo_forget


def _counting():
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    return calls, compute


@pytest.mark.django_db  # request_finished closes database connections
def test_value_is_worked_out_once_per_request_and_again_in_the_next():
    """Within a request the first answer is kept; the next request works it out afresh."""
    calls, compute = _counting()
    request_started.send(sender=None)
    try:
        assert [request_memo("k", compute) for _ in range(3)] == [1, 1, 1]
    finally:
        request_finished.send(sender=None)
    request_started.send(sender=None)
    try:
        assert request_memo("k", compute) == 2
    finally:
        request_finished.send(sender=None)
    assert len(calls) == 2


def test_outside_a_request_every_call_works_it_out():
    """Tasks and commands never see a kept value."""
    calls, compute = _counting()
    assert [request_memo("k", compute) for _ in range(3)] == [1, 2, 3]


@pytest.mark.django_db
def test_forgotten_key_is_worked_out_again_within_the_request():
    """A change within the request drops the kept value."""
    calls, compute = _counting()
    request_started.send(sender=None)
    try:
        request_memo("k", compute)
        request_memo_forget(["k"])
        assert request_memo("k", compute) == 2
    finally:
        request_finished.send(sender=None)
