"""`{% url %}` for every template, remembering the URLs that take no arguments.

Django's tag reverses on every render: about 25 µs of thread-local reads, resolver lookups and
quoting. The site's chrome alone names some twenty URLs without arguments (home, browse, log
in, help...), on every page. Such a URL depends only on the URLconf, the script prefix, the
language (i18n patterns) and the current app (namespaces), so it is remembered per URL
resolver (a new URLconf, or `clear_url_caches()`, gives a new resolver and a fresh memo) under
the other three. Tags with arguments or a variable view name are Django's own node.

Registered as a template builtin (settings.TEMPLATES), so `{% url %}` is this tag everywhere.
"""

import weakref

from django import template
from django.template.base import FilterExpression
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf, reverse
from django.urls.resolvers import URLResolver
from django.utils.html import conditional_escape
from django.utils.translation import get_language

register = template.Library()

_remembered: "weakref.WeakKeyDictionary[URLResolver, dict[tuple, str]]" = (
    weakref.WeakKeyDictionary()
)


class ConstantURLNode(URLNode):
    """`{% url 'name' %}` or `{% url 'name' as var %}`: reversed once per resolver, prefix,
    language and current app."""

    def render(self, context: template.Context) -> str:
        name: str = self.view_name.var
        current_app = _current_app(context)
        resolver = get_resolver(get_urlconf())
        urls = _remembered.get(resolver)
        if urls is None:
            urls = _remembered.setdefault(resolver, {})
        key = (name, current_app, get_script_prefix(), get_language())
        url = urls.get(key)
        if url is None:
            try:
                url = reverse(name, current_app=current_app)
            except NoReverseMatch:
                if self.asvar is None:
                    raise
                url = ""  # `as var` names an optional URL: empty when it doesn't exist
            urls[key] = url
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser: template.base.Parser, token: template.base.Token) -> URLNode:
    node = django_url(parser, token)
    if node.args or node.kwargs or not _is_literal(node.view_name):
        return node
    return ConstantURLNode(node.view_name, [], {}, node.asvar)


def _is_literal(expression: FilterExpression) -> bool:
    return isinstance(expression.var, str) and not expression.filters


def _current_app(context: template.Context) -> str | None:
    """As Django's tag works it out: the request's current app, else its namespace."""
    try:
        return context.request.current_app
    except AttributeError:
        try:
            return context.request.resolver_match.namespace
        except AttributeError:
            return None
