"""`{% url %}` for every template, remembering the URLs that take no arguments.

Django's tag reverses on every render. The site's chrome alone names some twenty URLs without
arguments (home, browse, log in, help...), on every page: those are reversed once
(core.reverse_memo). Tags with arguments or a variable view name are Django's own node.

Registered as a template builtin (settings.TEMPLATES), so `{% url %}` is this tag everywhere.
"""

from django import template
from django.template.base import FilterExpression
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch
from django.utils.html import conditional_escape

from core.reverse_memo import remembered_reverse, remembered_urls

register = template.Library()
# "No such attribute", as opposed to an attribute that is None.
_UNSET = object()


class ConstantURLNode(URLNode):
    """`{% url 'name' %}` or `{% url 'name' as var %}`: reversed once per resolver, prefix,
    language and current app. The memo and the current app are looked up once per render."""

    def render(self, context: template.Context) -> str:
        render_context = context.render_context
        found = getattr(render_context, "remembered_urls", None)
        if found is None:
            found = render_context.remembered_urls = (remembered_urls(), _current_app(context))
        urls, current_app = found
        try:
            url = remembered_reverse(self.view_name.var, current_app=current_app, urls=urls)
        except NoReverseMatch:
            if self.asvar is None:
                raise
            url = ""  # `as var` names an optional URL: empty when it doesn't exist
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
    request = getattr(context, "request", None)
    current_app = getattr(request, "current_app", _UNSET)
    if current_app is not _UNSET:
        return current_app
    match = getattr(request, "resolver_match", None)
    return getattr(match, "namespace", None)
