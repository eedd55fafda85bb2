"""No customer-data value in logs, error reports, sessions or the access log."""

import sys

import pytest
from django.contrib.admin.models import LogEntry
from django.core.signals import got_request_exception
from django.test import Client
from django.views.debug import ExceptionReporter

from customer_data.models import CustomerData, PersonalDataAccess
from tests.factories import CUSTOMER_NUMBER, TYPED, CustomerDataFactory
from tests.visibility.conftest import LEAK_MARKERS

pytestmark = pytest.mark.django_db

POST = {
    "profile-display_name": "Olga",
    "profile-about": "",
    "profile-location": "",
    "customer-consent": "on",
    **{f"customer-{name}": value for name, value in TYPED.items()},
}


def leaked(text: str) -> list[str]:
    return [marker for marker in [*LEAK_MARKERS, "Rückruf"] if marker in text]


def test_error_report_of_a_failed_save_hides_the_values(people, login, monkeypatch, caplog):
    reports: list[str] = []

    def capture(sender, request, **kwargs):
        reports.append(ExceptionReporter(request, *sys.exc_info()).get_traceback_text())

    def explode(self, *args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(CustomerData, "save", explode)
    got_request_exception.connect(capture)
    try:
        client = login(people["owner"], Client(raise_request_exception=False))
        response = client.post("/settings/profile/", POST)
    finally:
        got_request_exception.disconnect(capture)
    assert response.status_code == 500
    assert reports
    assert "database went away" in reports[0]
    assert leaked(reports[0]) == []
    assert leaked(caplog.text) == []


def test_values_never_reach_logs_session_or_admin_log(people, login, caplog):
    owner = people["owner"]
    client = login(owner)
    client.post("/settings/profile/", POST)
    assert CustomerData.objects.get(user=owner).customer_number == CUSTOMER_NUMBER
    login(people["team"]).get("/members/owner/")
    data = CustomerData.objects.get(user=owner)
    login(people["cm"]).get(f"/admin/customer_data/customerdata/{data.pk}/change/")
    assert leaked(caplog.text) == []
    assert leaked(str(dict(client.session))) == []
    assert leaked(" ".join(LogEntry.objects.values_list("change_message", flat=True))) == []
    assert leaked(str(list(PersonalDataAccess.objects.values_list("fields", flat=True)))) == []


def test_wrong_key_error_names_no_value(people, settings):
    from cryptography.fernet import Fernet

    from customer_data.crypto import DecryptionError

    owner = people["owner"]
    CustomerDataFactory(user=owner, full=True)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(DecryptionError) as caught:
        CustomerData.objects.get(user=owner).customer_number  # noqa: B018
    assert leaked(str(caught.value)) == []  # neither a value nor a token
