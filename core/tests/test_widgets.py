"""core.widgets renders exactly what Django's own widget templates render."""

import pytest
from django import forms
from django.utils.safestring import mark_safe

from core.widgets import FastSelect

CHOICES = [
    ("", "All categories"),
    ("women", "Women"),
    ("women-tops", "Women › Tops"),
    ("a&b", 'Tom & "Jerry" <3'),
    (3, "Three"),
    ("safe", mark_safe("<b>bold</b>")),
]
GROUPED = [
    ("", "Any"),
    ("Clothes", [("coat", "Coat"), ("dress", "Dress & more")]),
    ("Shoes & bags", [("boots", "Boots")]),
]


@pytest.mark.parametrize("choices", [CHOICES, GROUPED, []])
@pytest.mark.parametrize("value", [None, "", "women-tops", "a&b", 3, "3", "boots", "nope"])
@pytest.mark.parametrize(
    "attrs",
    [None, {"id": "id_category"}, {"id": "x", "required": True, "disabled": False, "data-x": '"<'}],
)
def test_fast_select_renders_djangos_select_html(choices, value, attrs):
    """FastSelect's HTML equals forms.Select's for the same choices, value and attributes."""
    expected = forms.Select(choices=choices, attrs={"class": "c"}).render("category", value, attrs)
    got = FastSelect(choices=choices, attrs={"class": "c"}).render("category", value, attrs)
    assert got == expected


def test_fast_select_in_a_bound_form_field_renders_like_select():
    """A form field using FastSelect renders as the same field with Django's Select."""

    class Slow(forms.Form):
        sort = forms.ChoiceField(choices=CHOICES, required=False)

    class Fast(forms.Form):
        sort = forms.ChoiceField(choices=CHOICES, required=False, widget=FastSelect)

    data = {"sort": "a&b"}
    assert str(Fast(data)["sort"]) == str(Slow(data)["sort"])
    assert str(Fast()["sort"]) == str(Slow()["sort"])
