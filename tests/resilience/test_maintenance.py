"""Key rotation and index rebuild past an unreadable row, and resumed after an interruption."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from customer_data import crypto, services
from customer_data.models import CustomerData, MaintenanceCheckpoint
from customer_data.services import rebuild_blind_index, rotate_field_keys
from tests.factories import UserFactory
from tests.helpers import raw_row, store_customer_data

pytestmark = pytest.mark.django_db


def new_key() -> str:
    return Fernet.generate_key().decode()


def corrupt(user) -> int:
    """Overwrite one member's customer number with a token no key reads; returns the row id."""
    foreign = Fernet(new_key()).encrypt(b"12345678").decode()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(CustomerData._meta.db_table)} SET {quote('customer_number')} = %s "  # noqa: S608
            f"WHERE {quote('user_id')} = %s",
            [foreign, user.pk],
        )
    return CustomerData.objects.values_list("pk", flat=True).get(user=user)


@pytest.fixture
def members(settings):
    settings.FIELD_ENCRYPTION_KEYS = [new_key()]
    users = [UserFactory() for _ in range(5)]
    for user in users:
        store_customer_data(user)
    return users


def rotate_to_a_new_key(settings) -> str:
    new = new_key()
    settings.FIELD_ENCRYPTION_KEYS = [new, *settings.FIELD_ENCRYPTION_KEYS]
    return new


def test_rotation_names_the_row_it_cannot_read_and_stops(members, settings):
    bad = corrupt(members[2])
    rotate_to_a_new_key(settings)

    with pytest.raises(CommandError, match=f"Zeile {bad} "):
        call_command(
            "rotate_field_keys", "--batch-size", "2", stdout=io.StringIO(), stderr=io.StringIO()
        )


def test_rotation_goes_on_past_unreadable_rows_when_asked_and_lists_them(members, settings):
    bad = corrupt(members[2])
    new = rotate_to_a_new_key(settings)
    out = io.StringIO()

    with pytest.raises(CommandError, match=f"1 Zeilen nicht entschlüsselbar, übersprungen: {bad}"):
        call_command(
            "rotate_field_keys",
            "--skip-undecryptable",
            "--batch-size",
            "2",
            stdout=out,
            stderr=io.StringIO(),
        )

    assert "4 Datensätze neu verschlüsselt" in out.getvalue()
    settings.FIELD_ENCRYPTION_KEYS = [new]  # every other row now reads with the new key alone
    for user in members:
        if user != members[2]:
            assert CustomerData.objects.get(user=user).customer_number == "4711081512"


def test_an_interrupted_rotation_resumes_after_the_last_finished_batch(
    members, settings, monkeypatch
):
    new = rotate_to_a_new_key(settings)
    real_rotate = crypto.rotate
    calls = {"n": 0}

    def dies_on_the_fifth_row(token: str) -> str:
        calls["n"] += 1
        if calls["n"] == 5 * 3:  # three values per row: the fifth row's last value
            raise KeyboardInterrupt
        return real_rotate(token)

    monkeypatch.setattr(crypto, "rotate", dies_on_the_fifth_row)
    with pytest.raises(KeyboardInterrupt):
        rotate_field_keys(batch_size=2)
    checkpoint = MaintenanceCheckpoint.objects.get(job="rotate_field_keys")
    ids = sorted(CustomerData.objects.values_list("pk", flat=True))
    assert checkpoint.last_pk == ids[3]  # two batches of two committed, the third rolled back

    monkeypatch.setattr(crypto, "rotate", real_rotate)
    result = rotate_field_keys(batch_size=2)

    assert result.resumed_after == ids[3]
    assert result.done == 1  # only the row the first run did not finish
    assert not MaintenanceCheckpoint.objects.filter(job="rotate_field_keys").exists()
    settings.FIELD_ENCRYPTION_KEYS = [new]
    for user in members:
        assert CustomerData.objects.get(user=user).further_info.startswith("Rückruf")


def test_a_checkpoint_for_another_key_is_not_resumed(members, settings):
    MaintenanceCheckpoint.objects.create(
        job="rotate_field_keys", key_fingerprint="other", last_pk=10**9
    )
    rotate_to_a_new_key(settings)

    result = rotate_field_keys()

    assert (result.resumed_after, result.done) == (0, 5)


def test_index_rebuild_goes_on_past_unreadable_rows_and_resumes(members, settings):
    bad = corrupt(members[0])
    settings.BLIND_INDEX_KEY = "a-new-blind-index-key-" + "z" * 32

    with pytest.raises(services.UndecryptableRow):
        rebuild_blind_index(batch_size=2)
    result = rebuild_blind_index(batch_size=2, skip_undecryptable=True)

    assert result.undecryptable == [bad]
    assert result.done == 4
    for user in members[1:]:
        assert raw_row(user.pk)["customer_number_bidx"] == crypto.blind_index("4711081512")


def test_the_commands_print_progress(members, settings):
    rotate_to_a_new_key(settings)
    err = io.StringIO()

    call_command("rotate_field_keys", "--batch-size", "2", stdout=io.StringIO(), stderr=err)

    assert "5 von 5 Zeilen" in err.getvalue()
    assert "/s, noch etwa" in err.getvalue()
