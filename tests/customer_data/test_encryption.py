"""Encryption at rest, key rotation, the blind index and the start-up key check."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection

from customer_data import crypto
from customer_data.crypto import DecryptionError, check_keys
from customer_data.forms import CustomerDataForm
from customer_data.models import ENCRYPTED_FIELDS, CustomerData
from customer_data.services import erase_customer_data, save_consent_and_values
from tests.factories import CUSTOMER_NUMBER, MOBILE_NUMBER, VALUES, CustomerDataFactory, UserFactory
from tests.helpers import raw_row

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def new_key() -> str:
    return Fernet.generate_key().decode()


# --- The raw column is ciphertext ---


def test_every_encrypted_column_holds_a_fernet_token_and_never_the_plaintext():
    user = UserFactory()
    CustomerDataFactory(user=user, full=True)

    raw = raw_row(user.pk)

    for name, plaintext in VALUES.items():
        assert raw[name].startswith("gAAAAA"), name
        assert raw[name] != plaintext
        assert plaintext not in raw[name]
        assert plaintext.split()[0] not in raw[name]


def test_the_model_reads_back_the_plaintext_it_stored():
    user = UserFactory()
    CustomerDataFactory(user=user, full=True)

    data = CustomerData.objects.get(user=user)

    assert {name: getattr(data, name) for name in ENCRYPTED_FIELDS} == VALUES


def test_saving_the_same_value_twice_gives_two_different_ciphertexts():
    user = UserFactory()
    CustomerDataFactory(user=user, full=True)
    first = raw_row(user.pk)

    CustomerDataFactory(user=user, full=True)
    second = raw_row(user.pk)

    for name in ENCRYPTED_FIELDS:
        assert first[name] != second[name], name
    assert CustomerData.objects.get(user=user).customer_number == VALUES["customer_number"]


def test_two_members_with_the_same_value_have_different_ciphertexts():
    one, two = UserFactory(), UserFactory()
    CustomerDataFactory(user=one, customer_number=CUSTOMER_NUMBER)
    CustomerDataFactory(user=two, customer_number=CUSTOMER_NUMBER)

    assert raw_row(one.pk)["customer_number"] != raw_row(two.pk)["customer_number"]


# --- A wrong key fails loudly ---


def test_reading_with_a_wrong_key_raises_instead_of_returning_ciphertext(settings):
    user = UserFactory()
    CustomerDataFactory(user=user, full=True)
    token = raw_row(user.pk)["customer_number"]

    settings.FIELD_ENCRYPTION_KEYS = [new_key()]

    with pytest.raises(DecryptionError) as excinfo:
        CustomerData.objects.get(user=user)
    assert token not in str(excinfo.value)
    assert token[:20] not in str(excinfo.value)
    with pytest.raises(DecryptionError):
        list(CustomerData.objects.values_list("mobile_number", flat=True))


def test_a_tampered_token_raises_decryption_error():
    user = UserFactory()
    CustomerDataFactory(user=user, customer_number=CUSTOMER_NUMBER)
    token = raw_row(user.pk)["customer_number"]
    tampered = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")

    with pytest.raises(DecryptionError):
        crypto.decrypt(tampered)
    with pytest.raises(DecryptionError):
        crypto.decrypt("not a token at all")


def write_raw(user_id: int, column: str, value: str) -> None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(CustomerData._meta.db_table)} SET {quote(column)} = %s "  # noqa: S608
            f"WHERE {quote('user_id')} = %s",
            [value, user_id],
        )


@pytest.mark.parametrize("plaintext", ["123456789", "Rückruf ab 18 Uhr"], ids=["ascii", "umlaut"])
def test_plaintext_left_in_a_column_fails_loudly_without_echoing_it(plaintext):
    user = UserFactory()
    CustomerDataFactory(user=user, further_info="placeholder")
    write_raw(user.pk, "further_info", plaintext)

    with pytest.raises(DecryptionError) as read_error:
        CustomerData.objects.get(user=user)
    with pytest.raises(CommandError) as rotate_error:
        call_command("rotate_field_keys", stdout=io.StringIO(), stderr=io.StringIO())

    assert f"Zeile {CustomerData.objects.values_list('pk', flat=True).get(user=user)}" in str(
        rotate_error.value
    )
    for error in (read_error.value, rotate_error.value):
        assert plaintext not in str(error)
        assert not any(word in str(error) for word in plaintext.split() if len(word) > 3)
        assert error.__cause__ is None
        assert error.__suppress_context__


def test_a_row_without_encrypted_values_still_reads_with_a_wrong_key(settings):
    user = UserFactory()
    save_consent_and_values(user_id=user.pk, by=user, consent=False, cleaned={})

    settings.FIELD_ENCRYPTION_KEYS = [new_key()]

    assert CustomerData.objects.get(user=user).customer_number is None


# --- Rotation ---


def test_rotation_re_encrypts_every_row_so_the_old_key_can_be_dropped(settings):
    old, new = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    users = [UserFactory() for _ in range(3)]
    for user in users:
        CustomerDataFactory(user=user, full=True)
    empty = UserFactory()
    CustomerDataFactory(user=empty, mobile_number="+49228123456")
    before = {user.pk: raw_row(user.pk) for user in [*users, empty]}

    # Before rotation the new key alone cannot read what the old key wrote.
    settings.FIELD_ENCRYPTION_KEYS = [new]
    with pytest.raises(DecryptionError):
        CustomerData.objects.get(user=users[0])

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert CustomerData.objects.get(user=users[0]).further_info == VALUES["further_info"]

    out = io.StringIO()
    call_command("rotate_field_keys", "--batch-size", "2", stdout=out)
    assert "4 Datensätze neu verschlüsselt" in out.getvalue()

    settings.FIELD_ENCRYPTION_KEYS = [new]
    for user in users:
        data = CustomerData.objects.get(user=user)
        assert {name: getattr(data, name) for name in ENCRYPTED_FIELDS} == VALUES
        after = raw_row(user.pk)
        for name in ENCRYPTED_FIELDS:
            assert after[name].startswith("gAAAAA")
            assert after[name] != before[user.pk][name]
        # The blind index has its own key and does not change on rotation.
        assert after["customer_number_bidx"] == before[user.pk]["customer_number_bidx"]
    partial = CustomerData.objects.get(user=empty)
    assert partial.mobile_number == "+49228123456"
    assert raw_row(empty.pk)["customer_number"] is None

    settings.FIELD_ENCRYPTION_KEYS = [old]
    with pytest.raises(DecryptionError):
        CustomerData.objects.get(user=users[0])


def test_rotation_fails_loudly_on_a_token_no_key_can_read(settings):
    user = UserFactory()
    CustomerDataFactory(user=user, customer_number=CUSTOMER_NUMBER)
    settings.FIELD_ENCRYPTION_KEYS = [new_key()]

    with pytest.raises(CommandError, match="lässt sich mit keinem Schlüssel"):
        call_command("rotate_field_keys", stdout=io.StringIO(), stderr=io.StringIO())


# --- The blind index ---


def test_the_normalised_customer_number_finds_the_row_through_the_blind_index():
    owner, other = UserFactory(), UserFactory()
    form = CustomerDataForm(data={"consent": "on", "customer_number": "4711 08/15-12"})
    assert form.is_valid()
    save_consent_and_values(user_id=owner.pk, by=owner, consent=True, cleaned=form.cleaned_data)
    CustomerDataFactory(user=other, customer_number="999999999")

    index = crypto.blind_index(CUSTOMER_NUMBER)
    found = CustomerData.objects.filter(customer_number_bidx=index)

    assert [row.user_id for row in found] == [owner.pk]
    assert raw_row(owner.pk)["customer_number_bidx"] == index
    assert CUSTOMER_NUMBER not in index


def test_filtering_on_an_encrypted_field_raises_field_error():
    with pytest.raises(FieldError):
        CustomerData.objects.filter(customer_number=CUSTOMER_NUMBER)
    with pytest.raises(FieldError):
        CustomerData.objects.filter(mobile_number__icontains="171")
    with pytest.raises(FieldError):
        CustomerData.objects.filter(further_info__startswith="Auftrag")


def test_isnull_is_the_one_lookup_an_encrypted_field_allows():
    with_number, without = UserFactory(), UserFactory()
    CustomerDataFactory(user=with_number, customer_number=CUSTOMER_NUMBER)
    CustomerDataFactory(user=without, mobile_number=MOBILE_NUMBER)

    rows = CustomerData.objects.filter(customer_number__isnull=False)

    assert [row.user_id for row in rows] == [with_number.pk]


def test_the_blind_index_changes_with_the_value_and_is_null_after_erasure():
    user = UserFactory()
    CustomerDataFactory(user=user, customer_number=CUSTOMER_NUMBER)
    first = raw_row(user.pk)["customer_number_bidx"]

    CustomerDataFactory(user=user, customer_number="987654321")
    second = raw_row(user.pk)["customer_number_bidx"]

    assert first != second
    assert second == crypto.blind_index("987654321")

    erase_customer_data(user_id=user.pk, by=user)

    raw = raw_row(user.pk)
    assert {
        name: raw[name] for name in [*ENCRYPTED_FIELDS, "customer_number_bidx"]
    } == dict.fromkeys([*ENCRYPTED_FIELDS, "customer_number_bidx"])


def test_the_blind_index_depends_on_its_own_key(settings):
    before = crypto.blind_index(CUSTOMER_NUMBER)
    settings.BLIND_INDEX_KEY = "another-blind-index-key-for-this-test"
    assert crypto.blind_index(CUSTOMER_NUMBER) != before


# --- Empty is NULL ---


def test_empty_input_is_stored_as_null_without_integrity_error():
    user = UserFactory()
    CustomerDataFactory(user=user, customer_number="", mobile_number="", further_info="")

    raw = raw_row(user.pk)
    assert {
        name: raw[name] for name in [*ENCRYPTED_FIELDS, "customer_number_bidx"]
    } == dict.fromkeys([*ENCRYPTED_FIELDS, "customer_number_bidx"])
    data = CustomerData.objects.get(user=user)
    assert data.filled_count == 0
    assert data.customer_number is None


def test_an_empty_string_assigned_on_the_model_is_stored_as_null():
    user = UserFactory()
    CustomerData.objects.create(
        user=user, consent=True, customer_number="", mobile_number="", further_info=""
    )

    assert raw_row(user.pk)["further_info"] is None
    assert CustomerData.objects.get(user=user).filled_count == 0


# --- The start-up key check ---


@pytest.fixture
def good_keys(settings):
    settings.SECRET_KEY = "a-secret-key-that-is-long-enough-for-this-test-0123456789"
    settings.FIELD_ENCRYPTION_KEYS = [new_key(), new_key()]
    settings.BLIND_INDEX_KEY = "a-blind-index-key-different-from-everything"
    return settings


def test_check_keys_accepts_proper_separate_keys(good_keys):
    check_keys()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"FIELD_ENCRYPTION_KEYS": []}, "FIELD_ENCRYPTION_KEYS is not set"),
        ({"BLIND_INDEX_KEY": ""}, "BLIND_INDEX_KEY is not set"),
        ({"FIELD_ENCRYPTION_KEYS": ["not-a-fernet-key"]}, "not a valid Fernet key"),
        ({"FIELD_ENCRYPTION_KEYS": ["@" * 43 + "="]}, "not a valid Fernet key"),
    ],
    ids=["no-field-keys", "no-index-key", "invalid-fernet-key", "not-base64"],
)
def test_check_keys_refuses_missing_or_invalid_keys(good_keys, change, message):
    for name, value in change.items():
        setattr(good_keys, name, value)

    with pytest.raises(ImproperlyConfigured, match=message):
        check_keys()


def test_check_keys_refuses_a_second_key_that_is_invalid(good_keys):
    good_keys.FIELD_ENCRYPTION_KEYS = [new_key(), "broken"]

    with pytest.raises(ImproperlyConfigured, match="entry 2"):
        check_keys()


def test_check_keys_refuses_an_encryption_key_equal_to_secret_key(good_keys):
    key = new_key()
    good_keys.SECRET_KEY = key
    good_keys.FIELD_ENCRYPTION_KEYS = [new_key(), key]

    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        check_keys()


def test_check_keys_refuses_a_blind_index_key_equal_to_secret_key(good_keys):
    good_keys.BLIND_INDEX_KEY = good_keys.SECRET_KEY

    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        check_keys()


def test_check_keys_refuses_a_blind_index_key_equal_to_an_encryption_key(good_keys):
    good_keys.BLIND_INDEX_KEY = good_keys.FIELD_ENCRYPTION_KEYS[1]

    with pytest.raises(ImproperlyConfigured, match="BLIND_INDEX_KEY must differ"):
        check_keys()


def test_encrypting_without_keys_fails_instead_of_storing_plaintext(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    user = UserFactory()

    with pytest.raises(ImproperlyConfigured):
        CustomerData.objects.create(user=user, consent=True, customer_number=CUSTOMER_NUMBER)


def run_manage_check(**extra: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY", "DATABASE_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="community.settings",
        DJANGO_SECRET_KEY="a-secret-key-for-the-start-up-probe",
        COMMUNITY_SKIP_DOTENV="1",  # only these variables count, not a developer's .env
        **extra,
    )
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_manage_py_fails_on_start_up_without_field_encryption_keys():
    failed = run_manage_check(BLIND_INDEX_KEY="a-blind-index-key-for-the-start-up-probe")

    assert failed.returncode != 0
    assert "ImproperlyConfigured" in failed.stderr
    assert "FIELD_ENCRYPTION_KEYS is not set" in failed.stderr

    # The same start-up with a key passes, so the failure above is the missing key.
    passed = run_manage_check(
        BLIND_INDEX_KEY="a-blind-index-key-for-the-start-up-probe", FIELD_ENCRYPTION_KEYS=new_key()
    )
    assert passed.returncode == 0, passed.stderr[-2000:]
