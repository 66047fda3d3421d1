"""The mixed scenario of `make bench` (run by bench/run.py, headless): 50 users spawned
gradually, 0.2–1.8 s think time; four in five browse anonymously, one in five is signed in.

The paths and the signed-in cookies come from bench/pages.py through BENCH_PAGES,
BENCH_SPREAD and BENCH_COOKIES (JSON), so the scenario walks real objects of the bench
catalogue: listings, categories, searches and shops picked at random from hundreds, as real
visitors spread over a catalogue (one hot URL would flatter any cache).
"""

import json
import os
import random

from locust import HttpUser, between, task

PAGES = {
    page["name"]: page["path"] for page in json.loads(os.environ["BENCH_PAGES"]) if page["path"]
}
SPREAD: dict[str, list[str]] = json.loads(os.environ.get("BENCH_SPREAD", "{}"))
COOKIES = json.loads(os.environ.get("BENCH_COOKIES", "[]"))


def get(user: HttpUser, name: str) -> None:
    if name in PAGES:
        user.client.get(PAGES[name], name=name)


def get_any(user: HttpUser, kind: str, fallback: str) -> None:
    """One of the spread's `kind` paths at random, reported under `kind`."""
    if SPREAD.get(kind):
        user.client.get(random.choice(SPREAD[kind]), name=kind)  # noqa: S311
    else:
        get(user, fallback)


class Shopper(HttpUser):
    weight = 4
    wait_time = between(0.2, 1.8)

    @task(4)
    def home(self):
        get(self, "home")

    @task(4)
    def listing(self):
        get_any(self, "listing", "listing")

    @task(3)
    def category(self):
        get_any(self, "category", "category")

    @task(2)
    def search(self):
        get_any(self, "search", "search_common")

    @task(2)
    def suggest(self):
        get(self, "suggest")

    @task(1)
    def filters(self):
        get(self, "browse_filters")

    @task(1)
    def seller(self):
        get_any(self, "seller", "seller")


class Member(HttpUser):
    weight = 1
    wait_time = between(0.2, 1.8)

    def on_start(self):
        if COOKIES:
            name, _, value = random.choice(COOKIES).partition("=")  # noqa: S311
            self.client.cookies.set(name, value)

    @task(3)
    def home(self):
        get(self, "home")

    @task(2)
    def cart(self):
        get(self, "cart")

    @task(1)
    def orders(self):
        get(self, "orders")

    @task(2)
    def feed(self):
        get(self, "following_feed")

    @task(2)
    def inbox(self):
        get(self, "inbox")

    @task(3)
    def listing(self):
        get_any(self, "listing", "listing")
