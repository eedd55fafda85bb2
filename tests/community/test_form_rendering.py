"""The project's lean crispy-forms templates (templates/bootstrap5/) render every form of the
site as the bootstrap5 pack itself does, in one template per field; and every field the site
has is of a kind they know."""

import copy

import pytest
from django import forms
from django.conf import settings
from django.forms import CheckboxInput
from django.template import Context, Template
from django.test import override_settings
from django.test.html import parse_html

from community.forms import LoginForm
from customer_data.forms import CustomerDataForm
from profiles.forms import PreferencesForm, PublicProfileForm
from tests.factories import TYPED, CustomerDataFactory

pytestmark = pytest.mark.django_db

KNOWN_KINDS = {"text", "textarea", "select", "checkbox", "password", "email", "number", "search"}


class Probe(forms.Form):
    agree = forms.BooleanField(label="Einverstanden", help_text="Pflichtfeld")
    note = forms.CharField(label="Notiz", help_text="Pflichtfeld")


def pack_only_templates() -> list[dict]:
    """TEMPLATES without the project's own folder: crispy-forms finds its pack's templates."""
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = []
    return templates


def clear_crispy_caches() -> None:
    from crispy_forms.templatetags import crispy_forms_filters
    from crispy_forms.utils import default_field_template

    crispy_forms_filters.uni_form_template.cache_clear()
    crispy_forms_filters.uni_formset_template.cache_clear()
    default_field_template.cache_clear()


def render(source: str, **context: object) -> str:
    clear_crispy_caches()
    try:
        return Template("{% load crispy_forms_tags %}" + source).render(Context(context))
    finally:
        clear_crispy_caches()


def forms_of_the_site(people) -> dict:
    owner = people["owner"]
    data = CustomerDataFactory(user=owner, full=True)
    bad = {f"customer-{name}": "\x01" for name in TYPED} | {"customer-consent": "on"}
    invalid_customer = CustomerDataForm(bad, instance=data, prefix="customer", viewer=owner)
    invalid_customer.is_valid()
    invalid_profile = PublicProfileForm(
        {"profile-display_name": ""}, instance=owner.profile, prefix="profile"
    )
    invalid_profile.is_valid()
    invalid_preferences = PreferencesForm({"language": "xx"}, instance=owner.profile)
    invalid_preferences.is_valid()
    invalid_login = LoginForm(data={"username": "", "password": ""})
    invalid_login.is_valid()
    # No form of the site has a required checkbox yet; the template's branch for one is
    # held to the pack too.
    probe = Probe(data={})
    probe.is_valid()
    return {
        "a required checkbox, unticked": probe,
        "login": LoginForm(),
        "login with errors": invalid_login,
        "profile": PublicProfileForm(instance=owner.profile, prefix="profile"),
        "profile with errors": invalid_profile,
        "preferences": PreferencesForm(instance=owner.profile),
        "preferences with errors": invalid_preferences,
        "customer data": CustomerDataForm(instance=data, prefix="customer", viewer=owner),
        "customer data with errors": invalid_customer,
    }


def test_every_form_renders_as_the_pack_renders_it(people):
    forms = forms_of_the_site(people)
    ours = {name: render("{{ form|crispy }}", form=form) for name, form in forms.items()}
    fields = {
        (name, field.name): render("{{ field|as_crispy_field }}", field=field)
        for name, form in forms.items()
        for field in form
    }
    with override_settings(TEMPLATES=pack_only_templates()):
        packs = {name: render("{{ form|crispy }}", form=form) for name, form in forms.items()}
        pack_fields = {
            (name, field.name): render("{{ field|as_crispy_field }}", field=field)
            for name, form in forms.items()
            for field in form
        }

    for name in forms:
        assert parse_html(ours[name]) == parse_html(packs[name]), name
    for key, html in fields.items():
        assert parse_html(html) == parse_html(pack_fields[key]), key
    # Not an empty comparison: the errors and help texts are there.
    assert "invalid-feedback" in ours["customer data with errors"]
    assert "_helptext" in ours["customer data"]


def test_the_lean_templates_are_the_ones_in_use(people):
    html = render("{{ form|crispy }}", form=forms_of_the_site(people)["profile"])
    with override_settings(TEMPLATES=pack_only_templates()):
        pack = render("{{ form|crispy }}", form=forms_of_the_site(people)["profile"])

    # The pack strips whitespace between tags ({% specialspaceless %}); ours does not.
    assert html != pack


def test_every_field_of_the_site_is_of_a_kind_the_lean_template_knows(people):
    kinds = {
        (name, field.name): "checkbox"
        if isinstance(field.field.widget, CheckboxInput)
        else field.widget_type
        for name, form in forms_of_the_site(people).items()
        for field in form
        if not field.is_hidden
    }
    assert {key: kind for key, kind in kinds.items() if kind not in KNOWN_KINDS} == {}
