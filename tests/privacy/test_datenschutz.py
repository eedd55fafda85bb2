"""The Datenschutz tab: access log, consent history, export, erasure, policy, preview."""

import json
from datetime import timedelta

import jsonschema
import pytest
from django.test import Client
from django.utils import timezone

from customer_data import permissions
from customer_data.models import ConsentRecord, CustomerData, PersonalDataAccess
from customer_data.services import save_consent_and_values
from profiles.models import Profile
from tests.factories import (
    CUSTOMER_NUMBER,
    FURTHER_INFO,
    MOBILE_NUMBER,
    CustomerDataFactory,
    PersonalDataAccessFactory,
)
from tests.visibility.conftest import leaks

pytestmark = pytest.mark.django_db

PRIVACY = "/settings/privacy/"
EXPORT = "/settings/privacy/export/"
ERASE = "/settings/privacy/erase/"
PREVIEW = "/settings/privacy/preview/"


@pytest.fixture
def owner(people):
    user = people["owner"]
    CustomerDataFactory(user=user, full=True)
    return user


def test_access_log_shows_who_with_role_when_and_where_newest_first(owner, people, login):
    Profile.objects.filter(user=people["team"]).update(display_name="Tom vom Team")
    Profile.objects.filter(user=people["cm"]).update(display_name="Clara Community")
    people["team"].refresh_from_db()
    people["cm"].refresh_from_db()
    PersonalDataAccessFactory(
        viewer=people["team"], subject=owner, at=timezone.now() - timedelta(days=2)
    )
    PersonalDataAccessFactory(viewer=people["cm"], subject=owner, via_admin=True)
    text = login(owner).get(PRIVACY).text
    assert "Wer hat meine Kundendaten gesehen?" in text
    assert text.index("Clara Community") < text.index("Tom vom Team")
    assert "Community Management" in text
    assert "Telekom hilft Team" in text
    assert "Verwaltung" in text
    assert "Profilseite" in text
    assert leaks(text) == []


def test_access_log_times_are_shown_in_the_members_time_zone(owner, people, login):
    PersonalDataAccessFactory(
        viewer=people["team"],
        subject=owner,
        at=timezone.datetime(2026, 7, 1, 12, 0, tzinfo=timezone.UTC),
    )
    client = login(owner)
    assert "14:00" in client.get(PRIVACY).text  # Europe/Berlin, summer time
    Profile.objects.filter(user=owner).update(time_zone="America/New_York")
    assert "08:00" in client.get(PRIVACY).text


def test_access_log_is_paginated(owner, people, login):
    PersonalDataAccessFactory.create_batch(25, viewer=people["team"], subject=owner)
    client = login(owner)
    first = client.get(PRIVACY).text
    assert "Seite 1 von 2" in first
    assert first.count("Profilseite") == 20
    second = client.get(PRIVACY, {"page": 2}).text
    assert second.count("Profilseite") == 5
    for bad in ("x", "0", "-1", "\x00", "99999999999"):
        assert client.get(PRIVACY, {"page": bad}).status_code == 200


def test_access_log_shows_only_my_own_rows(owner, people, login):
    PersonalDataAccessFactory(viewer=people["team"], subject=people["member"])
    assert "Bisher hat niemand außer dir" in login(owner).get(PRIVACY).text


def test_consent_history_lists_grants_and_withdrawals_with_version(owner, login, settings):
    save_consent_and_values(user_id=owner.pk, by=owner, consent=False, cleaned={})
    text = login(owner).get(PRIVACY).text
    assert "erteilt" in text
    assert "widerrufen" in text
    assert settings.CONSENT_TEXT_VERSION in text


EXPORT_SCHEMA = {
    "type": "object",
    "required": [
        "format",
        "version",
        "generated_at",
        "member",
        "customer_data",
        "consent_history",
        "access_log",
    ],
    "additionalProperties": False,
    "properties": {
        "format": {"const": "telekom-hilft-community/member-export"},
        "version": {"const": 1},
        "generated_at": {"type": "string"},
        "member": {
            "type": "object",
            "required": ["username", "display_name", "about", "location", "rank", "member_since"],
            "properties": {"username": {"type": "string"}, "display_name": {"type": "string"}},
        },
        "customer_data": {
            "type": ["object", "null"],
            "required": [
                "consent",
                "consent_text_version",
                "customer_number",
                "mobile_number",
                "further_info",
                "numbers_updated_at",
                "further_info_updated_at",
            ],
            "properties": {
                "consent": {"type": "boolean"},
                "customer_number": {"type": ["string", "null"]},
                "mobile_number": {"type": ["string", "null"]},
                "further_info": {"type": ["string", "null"]},
                "numbers_updated_at": {"type": ["string", "null"]},
                "further_info_updated_at": {"type": ["string", "null"]},
                "fill_percentage": {"enum": [0, 33, 67, 100]},
            },
        },
        "consent_history": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["action", "reason", "consent_text_version", "at"],
                "properties": {"action": {"enum": ["granted", "withdrawn"]}},
            },
        },
        "access_log": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["at", "viewer", "viewer_roles", "channel", "fields"],
                "properties": {
                    "channel": {
                        "enum": [
                            "profile",
                            "admin",
                            "export",
                            "search_customer_number",
                            "search_mobile_number",
                        ]
                    },
                    "fields": {
                        "type": "array",
                        "items": {"enum": ["customer_number", "mobile_number", "further_info"]},
                    },
                },
            },
        },
    },
}


def test_export_is_valid_json_with_everything_about_me(owner, people, login):
    PersonalDataAccessFactory(
        viewer=people["cm"], subject=owner, via_admin=True, fields=["further_info"]
    )
    response = login(owner).post(EXPORT)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    payload = json.loads(response.content)
    jsonschema.validate(payload, EXPORT_SCHEMA)
    assert payload["member"]["username"] == "owner"
    assert payload["customer_data"]["customer_number"] == CUSTOMER_NUMBER
    assert payload["customer_data"]["mobile_number"] == MOBILE_NUMBER
    assert payload["customer_data"]["further_info"] == FURTHER_INFO
    assert [r["action"] for r in payload["consent_history"]] == ["granted"]
    assert payload["access_log"][0]["viewer_roles"] == ["community-management"]
    assert payload["access_log"][0]["fields"] == ["further_info"]


def test_export_without_customer_data_is_valid_too(people, login):
    payload = json.loads(login(people["member"]).post(EXPORT).content)
    jsonschema.validate(payload, EXPORT_SCHEMA)
    assert payload["customer_data"] is None


def test_export_is_always_my_own_data(owner, people, login):
    response = login(people["team"]).post(EXPORT, {"username": "owner", "user": owner.pk})
    payload = json.loads(response.content)
    assert payload["member"]["username"] == "team"
    assert leaks(response.content.decode()) == []


def test_export_needs_login_post_and_csrf(owner, people):
    anonymous = Client()
    response = anonymous.post(EXPORT)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner, backend="community.backends.CommunityBackend")
    assert client.post(EXPORT).status_code == 403
    assert client.get(EXPORT).status_code == 405


def test_erase_asks_for_confirmation_then_erases_and_records(owner, login):
    client = login(owner)
    response = client.post(ERASE)
    assert response.status_code == 200
    assert "Ja, Kundendaten löschen" in response.text
    assert CustomerData.objects.get(user=owner).filled_count == 3
    response = client.post(ERASE, {"confirm": "yes"})
    assert response.status_code == 302
    data = CustomerData.objects.get(user=owner)
    assert (
        data.customer_number,
        data.mobile_number,
        data.further_info,
        data.customer_number_bidx,
    ) == (None,) * 4
    assert not data.consent
    withdrawal = ConsentRecord.objects.filter(user=owner).first()
    assert (withdrawal.action, withdrawal.reason) == ("withdrawn", "erasure")
    assert "0 % Profildaten ausgefüllt" in client.get("/settings/profile/").text


def test_erase_is_post_only_and_needs_csrf(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner, backend="community.backends.CommunityBackend")
    assert client.get(ERASE).status_code == 405
    assert client.post(ERASE, {"confirm": "yes"}).status_code == 403
    assert CustomerData.objects.get(user=owner).filled_count == 3


def test_who_sees_this_is_generated_from_the_policy(owner, login, monkeypatch):
    client = login(owner)
    text = client.get(PRIVACY).text
    assert "Wer sieht diese Daten?" in text
    assert "nur, wie vollständig deine Kundendaten sind" in text
    # Change the policy table and the explanation follows: it is not a second copy.
    changed = {
        **permissions.POLICY,
        permissions.Audience.EXPERIENCED_MEMBER: permissions.Visibility.NONE,
    }
    monkeypatch.setattr(permissions, "POLICY", changed)
    assert "nur, wie vollständig deine Kundendaten sind" not in client.get(PRIVACY).text


def test_preview_shows_my_profile_as_a_mitgestalter_sees_it(owner, login):
    response = login(owner).get(PREVIEW)
    assert response.status_code == 200
    assert "So sehen Mitglieder ab Rang Mitgestalter dein Profil" in response.text
    assert "100 % Profildaten ausgefüllt" in response.text
    assert leaks(response.text) == []
    assert "Rückruf" not in response.text
    assert not PersonalDataAccess.objects.exists()


def test_preview_matches_what_a_real_mitgestalter_gets(owner, people, login):
    preview = login(owner).get(PREVIEW).text
    real = login(people["expert"]).get("/members/owner/").text
    marker = 'class="customer-panel customer-panel--ring"'
    assert marker in preview
    assert marker in real
    section = lambda html: html[html.index(marker) : html.index("</section>", html.index(marker))]  # noqa: E731
    assert section(preview) == section(real)
