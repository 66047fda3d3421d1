"""Form widgets that render their HTML in Python, for forms shown on busy pages.

Django renders a <select> with one template include per <option> (and another for its
attributes): about 0.1 ms an option, a few milliseconds for the browse filters' selects.
These widgets give the very same HTML as Django's own templates
(django/forms/widgets/select.html, select_option.html, attrs.html), without the template
engine. core/tests/test_widgets.py holds them equal to Django's rendering.
"""

from typing import Any

from django import forms
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe


def _attrs(attrs: dict[str, Any]) -> str:
    """django/forms/widgets/attrs.html: ` name="value"`, a bare ` name` for True, nothing
    for False."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            parts.append(f" {conditional_escape(name)}")
        else:
            parts.append(f' {conditional_escape(name)}="{conditional_escape(str(value))}"')
    return "".join(parts)


def _option(option: dict[str, Any]) -> str:
    value = conditional_escape(str(option["value"]))
    label = conditional_escape(option["label"])
    return f'<option value="{value}"{_attrs(option["attrs"])}>{label}</option>'


class FastSelect(forms.Select):
    """forms.Select, rendered in Python (same HTML)."""

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        html = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, group_choices, _index in widget["optgroups"]:
            if group_name:
                html.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            # select_option.html ends with a newline, kept after each option.
            html.extend(f"\n  {_option(option)}\n" for option in group_choices)
            if group_name:
                html.append("\n  </optgroup>")
        html.append("\n</select>")
        return mark_safe("".join(html))  # noqa: S308 - every value above is escaped
