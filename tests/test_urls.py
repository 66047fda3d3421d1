"""The site's URLconf: the apps' routes are included at the root in the order of their
traffic (threadly/urls.py), which is only safe while no route shadows another."""

import pytest
from django.urls import Resolver404, get_resolver, resolve
from django.urls.converters import IntConverter, UUIDConverter
from django.urls.resolvers import URLResolver


def _named_routes(resolver: URLResolver, namespace: str = "", prefix: str = ""):
    """(view name, a path that route matches) for every named route, includes too."""
    for name in [key for key in resolver.reverse_dict if isinstance(key, str)]:
        for possibilities, _pattern, _defaults, converters in resolver.reverse_dict.getlist(name):
            for template, params in possibilities:
                values = {param: _sample(converters.get(param)) for param in params}
                yield f"{namespace}{name}", "/" + prefix + template % values
    for child_namespace, (child_prefix, child) in resolver.namespace_dict.items():
        yield from _named_routes(child, f"{namespace}{child_namespace}:", prefix + child_prefix)


def _sample(converter: object) -> str:
    if isinstance(converter, IntConverter):
        return "7"
    if isinstance(converter, UUIDConverter):
        return "12345678-1234-5678-1234-567812345678"
    return "abc-7"


# Django's admin is included under its own prefix, with a catch-all of its own: left out.
ROUTES = sorted(
    (name, path)
    for name, path in set(_named_routes(get_resolver()))
    if not name.startswith("admin:")
)


def test_every_app_has_routes_here():
    names = {name.partition(":")[0] for name, _ in ROUTES}
    assert {"marketplace", "orders", "messaging", "ops", "accounts", "help"} <= names


@pytest.mark.parametrize(("name", "path"), ROUTES, ids=[f"{n} {p}" for n, p in ROUTES])
def test_each_route_answers_its_own_paths(name, path):
    """A path made for a route resolves to that route, not to one tried before it (a path
    whose sample value the route's own regex refuses is skipped)."""
    try:
        match = resolve(path)
    except Resolver404:
        pytest.skip("the sample value doesn't fit this route's pattern")
    assert match.view_name == name
