"""The site's own widget templates (templates/django/forms/widgets/) render exactly what
Django's render, in one template instead of two or three."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates

from community.forms import CommunityFormRenderer

ATTRS = [
    {},
    {"required": True, "disabled": False, "id": "id_x", "class": "form-control"},
    {"aria-describedby": "id_x_helptext id_x_error", "maxlength": 20, "inputmode": "tel"},
    {"placeholder": 'z. B. "0171 …" <b>&'},
]
VALUES = [None, "", "Olga Öztürk", '"><script>alert(1)</script>', 42]
WIDGETS = [
    forms.TextInput,
    forms.EmailInput,
    forms.NumberInput,
    forms.HiddenInput,
    forms.PasswordInput,
    forms.Textarea,
    forms.CheckboxInput,
    forms.URLInput,
]


@pytest.mark.parametrize("widget_class", WIDGETS, ids=lambda w: w.__name__)
@pytest.mark.parametrize("attrs", ATTRS, ids=range(len(ATTRS)))
def test_each_widget_renders_what_django_renders(widget_class, attrs):
    ours, djangos = CommunityFormRenderer(), DjangoTemplates()
    for value in [*VALUES, True, False] if widget_class is forms.CheckboxInput else VALUES:
        widget = widget_class(attrs=dict(attrs))
        expected = widget.render("field", value, renderer=djangos)
        assert widget.render("field", value, renderer=ours) == expected


def test_the_site_uses_its_own_templates_for_the_common_widgets():
    engine_template = CommunityFormRenderer().get_template("django/forms/widgets/text.html")
    assert "templates/django/forms/widgets/text.html" in str(engine_template.origin.name)
