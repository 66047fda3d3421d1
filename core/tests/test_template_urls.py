import pytest
from django.template import engines
from django.template.defaulttags import URLNode
from django.test import override_settings
from django.urls import NoReverseMatch, reverse, set_script_prefix

from core import reverse_memo
from core.template_urls import ConstantURLNode


def render(source: str) -> str:
    return engines["django"].from_string(source).render({})


def test_a_url_without_arguments_renders_as_djangos_reverse():
    assert render("{% url 'help:index' %}") == reverse("help:index")
    assert render("{% url 'help:index' as link %}[{{ link }}]") == f"[{reverse('help:index')}]"


def test_it_is_reversed_once_then_remembered(monkeypatch):
    calls = []
    real = reverse_memo.reverse

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(reverse_memo, "reverse", counting)
    reverse_memo._remembered.clear()
    for _ in range(3):
        assert render("{% url 'marketplace:browse' %}") == reverse("marketplace:browse")
    assert calls == [("marketplace:browse",)]


def test_a_url_with_arguments_is_remembered_per_arguments(monkeypatch):
    calls = []
    real = reverse_memo.reverse

    def counting(*args, **kwargs):
        calls.append(kwargs["args"])
        return real(*args, **kwargs)

    monkeypatch.setattr(reverse_memo, "reverse", counting)
    reverse_memo._remembered.clear()
    for _ in range(2):
        for slug in ("women", "men"):
            assert reverse_memo.remembered_reverse("marketplace:category", (slug,)) == reverse(
                "marketplace:category", args=[slug]
            )
    assert calls == [("women",), ("men",)]


def test_an_unknown_name_raises_unless_the_url_is_optional():
    with pytest.raises(NoReverseMatch):
        render("{% url 'nowhere:at-all' %}")
    assert render("{% url 'nowhere:at-all' as link %}[{{ link }}]") == "[]"


@override_settings(ROOT_URLCONF="core.tests.template_urls_alt")
def test_another_urlconf_gets_its_own_urls():
    assert render("{% url 'help:index' %}") == "/elsewhere/help/"


def test_the_script_prefix_is_part_of_the_answer():
    plain = render("{% url 'help:index' %}")
    set_script_prefix("/shop/")
    try:
        assert render("{% url 'help:index' %}") == "/shop" + plain
    finally:
        set_script_prefix("/")
    assert render("{% url 'help:index' %}") == plain


def test_urls_with_arguments_or_a_variable_name_are_djangos_own_node():
    template = (
        engines["django"]
        .from_string("{% url 'marketplace:listing_edit' 5 %}{% url name %}{% url 'help:index' %}")
        .template
    )
    nodes = template.nodelist.get_nodes_by_type(URLNode)
    assert [type(node) for node in nodes] == [URLNode, URLNode, ConstantURLNode]
