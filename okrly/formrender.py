"""The form renderer (``FORM_RENDERER``): Django's own, with its commonest widget templates
written in Python.

Django renders every widget, and every option of a select or radio group, through a
template: My week's five check-in cards cost 17 ms of template rendering, most of it
``<option>`` and ``<input>`` tags. The templates below are Django's own
(``django/forms/widgets/*.html``) done in Python with the template engine's rules: a value
is localised, then escaped unless marked safe; ``stringformat:'s'`` keeps a safe value safe.
Any other template, a project's own widget template included, is rendered as before.
``tests/okrly/test_formrender.py`` renders every widget type both ways (random values,
labels and attributes included) and compares the HTML byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.forms import Select
from django.forms.renderers import DjangoTemplates
from django.utils.choices import BaseChoiceIterator
from django.utils.formats import localize
from django.utils.safestring import SafeData, SafeString, mark_safe

# django-stubs leave out template_localtime, which the template engine calls on every value.
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]

from okrly.html import escaped as conditional_escape  # the same, without lazy wrappers

_W = "django/forms/widgets/"


def _text(value: Any) -> str:
    """``{{ value }}``: localised and escaped, as the template engine prints a variable."""
    if isinstance(value, str):
        return conditional_escape(value)
    return conditional_escape(localize(template_localtime(value)))


def _as_s(value: Any) -> str:
    """``{{ value|stringformat:'s' }}``: the filter keeps a safe value safe."""
    if isinstance(value, tuple):
        value = str(value)
    out = "%s" % value  # noqa: UP031 — the filter's own formatting, kept exactly
    return conditional_escape(mark_safe(out) if isinstance(value, SafeData) else out)


def _attrs(attrs: Mapping[str, Any]) -> str:
    """``attrs.html``."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(f" {_text(name)}" if value is True else f' {_text(name)}="{_as_s(value)}"')
    return "".join(parts)


def _input(widget: Mapping[str, Any]) -> str:
    """``input.html``."""
    value = widget["value"]
    shown = f' value="{_as_s(value)}"' if value is not None else ""
    return (
        f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{shown}'
        f"{_attrs(widget['attrs'])}>\n"
    )


def _input_option(widget: Mapping[str, Any]) -> str:
    """``input_option.html``: a radio or checkbox, inside its label when ``wrap_label``."""
    if not widget.get("wrap_label"):
        return _input(widget) + "\n"
    ident = widget["attrs"].get("id")
    label_for = f' for="{_text(ident)}"' if ident else ""
    return f"<label{label_for}>{_input(widget)} {_text(widget['label'])}</label>\n"


def _textarea(widget: Mapping[str, Any]) -> str:
    """``textarea.html``."""
    value = widget["value"]
    return (
        f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{_text(value) if value else ''}</textarea>\n"
    )


def _select_option(widget: Mapping[str, Any]) -> str:
    """``select_option.html``."""
    return (
        f'<option value="{_as_s(widget["value"])}"{_attrs(widget["attrs"])}>'
        f"{_text(widget['label'])}</option>\n"
    )


class FastWidgets(DjangoTemplates):
    """Django's template-based form renderer, widgets in Python (see the module's doc)."""

    def __init__(self) -> None:
        super().__init__()
        # Each template: the function that writes it, and how many newlines its file adds
        # after what it includes (``text.html`` is ``input.html`` and a newline of its own).
        inputs: tuple[str, ...] = ("text", "number", "email", "url", "password", "hidden")
        inputs += ("date", "datetime", "time", "search", "tel", "color", "checkbox")
        self._python: dict[str, tuple[Callable[[Mapping[str, Any]], str], int]] = {
            f"{_W}input.html": (_input, 0),
            **{f"{_W}{name}.html": (_input, 1) for name in inputs},
            f"{_W}input_option.html": (_input_option, 0),
            f"{_W}radio_option.html": (_input_option, 1),
            f"{_W}checkbox_option.html": (_input_option, 1),
            f"{_W}textarea.html": (_textarea, 0),
            f"{_W}select_option.html": (_select_option, 0),
            f"{_W}select.html": (self._select, 0),
            f"{_W}multiple_input.html": (self._multiple_input, 0),
            f"{_W}radio.html": (self._multiple_input, 1),
            f"{_W}checkbox_select.html": (self._multiple_input, 1),
        }

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        if template_name not in self._python or "widget" not in context:
            return super().render(template_name, context, request)
        # Django's renderer strips what a template printed; an include does not.
        return SafeString(self._include(template_name, context["widget"]).strip())

    def _include(self, template_name: str, widget: Mapping[str, Any]) -> str:
        """What ``{% include template_name %}`` prints, unstripped."""
        python = self._python.get(template_name)
        if python is None:  # an option template of the project's own: the engine's
            template = self.get_template(template_name)
            return str(template.render({"widget": widget}))
        write, newlines = python
        return write(widget) + "\n" * newlines

    def _select(self, widget: Mapping[str, Any]) -> str:
        out = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, group_choices, _index in widget["optgroups"]:
            if group_name:
                out.append(f'\n  <optgroup label="{_text(group_name)}">')
            for option in group_choices:
                out.append("\n  " + self._include(option["template_name"], option))
            if group_name:
                out.append("\n  </optgroup>")
        out.append("\n</select>\n")
        return "".join(out)

    def _multiple_input(self, widget: Mapping[str, Any]) -> str:
        ident = widget["attrs"].get("id")
        css = widget["attrs"].get("class")
        out = ["<div"]
        if ident:
            out.append(f' id="{_text(ident)}"')
        if css:
            out.append(f' class="{_text(css)}"')
        out.append(">")
        for group, options, _index in widget["optgroups"]:
            if group:
                out.append(f"\n  <div><label>{_text(group)}</label>")
            for option in options:
                written = self._include(option["template_name"], option)
                out.append(f"<div>\n    {written}</div>")
            if group:
                out.append("\n  </div>")
        out.append("\n</div>\n")
        return "".join(out)


class Pairs(BaseChoiceIterator):
    """Choices already in their final form (value, label pairs), shared by a page's forms:
    assigned to a field as they are (a plain list is walked and normalised again for each
    form), and ``PairsSelect`` makes each option's markup once for all of them."""

    def __init__(self, pairs: list[tuple[Any, str]]) -> None:
        self.pairs = pairs
        self._markup: list[tuple[str, str, str]] | None = None

    def __iter__(self) -> Any:
        return iter(self.pairs)

    def markup(self) -> list[tuple[str, str, str]]:
        """Each option's value as text, and its markup unselected and selected."""
        if self._markup is None:
            self._markup = []
            for value, label in self.pairs:
                shown = "" if value is None else str(value)
                text = _text(label)
                self._markup.append(
                    (
                        shown,
                        f'<option value="{_as_s(shown)}">{text}</option>',
                        f'<option value="{_as_s(shown)}" selected>{text}</option>',
                    )
                )
        return self._markup


class PairsSelect(Select):
    """A select of ``Pairs`` (five My-week cards print the same twenty people): the options'
    markup is made once per ``Pairs`` and the chosen one marked per form; what it prints is
    what ``Select`` prints through ``FastWidgets`` (``tests/okrly/test_formrender.py``). Other
    choices render as ``Select`` does."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        choices = self.choices
        if not isinstance(choices, Pairs) or self.allow_multiple_selected:
            return super().render(name, value, attrs, renderer)
        chosen = self.format_value(value)
        found = False
        options = []
        for shown, plain, selected in choices.markup():
            # As Select marks them: the first option whose value is the chosen one.
            if not found and shown in chosen:
                found = True
                options.append(f"\n  {selected}\n")
            else:
                options.append(f"\n  {plain}\n")
        final = self.build_attrs(self.attrs, attrs)
        return SafeString(
            f'<select name="{_text(name)}"{_attrs(final)}>{"".join(options)}\n</select>'
        )
