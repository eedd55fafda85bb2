"""Whatever the jobs print, log or leave in the task table: counts and row ids, never a
value, a token or an index."""

import io
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django_tasks_db.models import DBTaskResult

from customer_data import tasks
from customer_data.models import CustomerData
from tests.factories import (
    CUSTOMER_NUMBER,
    FURTHER_INFO,
    MOBILE_NUMBER,
    MOBILE_NUMBER_SHOWN,
    UserFactory,
)
from tests.helpers import raw_row, store_customer_data
from tests.jobs.conftest import make_stale


def corrupt(user) -> None:
    """One member's customer number as a token no configured key reads."""
    foreign = Fernet(Fernet.generate_key()).encrypt(CUSTOMER_NUMBER.encode()).decode()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(CustomerData._meta.db_table)} SET {quote('customer_number')} = %s "  # noqa: S608
            f"WHERE {quote('user_id')} = %s",
            [foreign, user.pk],
        )


@pytest.mark.django_db(transaction=True)
def test_no_job_output_carries_customer_data(settings, worker, caplog):
    caplog.set_level(logging.DEBUG)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    users = [UserFactory() for _ in range(4)]
    for user in users:
        store_customer_data(user)
    secrets = {CUSTOMER_NUMBER, MOBILE_NUMBER, MOBILE_NUMBER_SHOWN, FURTHER_INFO, "1701234567"}
    secrets |= {str(raw_row(user.pk)["customer_number_bidx"]) for user in users}
    make_stale(users[0])
    corrupt(users[1])
    settings.FIELD_ENCRYPTION_KEYS = [
        Fernet.generate_key().decode(),
        *settings.FIELD_ENCRYPTION_KEYS,
    ]
    settings.BLIND_INDEX_KEY = "another-blind-index-key-" + "q" * 32
    out, err = io.StringIO(), io.StringIO()

    call_command("purge_stale_customer_data", stdout=out, stderr=err)
    for command in ("rotate_field_keys", "rebuild_blind_index"):
        with pytest.raises(CommandError) as stopped:
            call_command(command, stdout=out, stderr=err)
        err.write(str(stopped.value))
        with pytest.raises(CommandError) as listed:
            call_command(command, "--skip-undecryptable", stdout=out, stderr=err)
        err.write(str(listed.value))
    make_stale(users[2])
    tasks.purge_stale_customer_data.enqueue()
    tasks.rotate_field_keys.enqueue()  # fails on the unreadable row
    tasks.rebuild_blind_index.enqueue(skip_undecryptable=True)
    worker_said = worker()

    tables = [
        f"{row.args_kwargs} {row.return_value} {row.exception_class_path} {row.traceback}"
        for row in DBTaskResult.objects.all()
    ]
    assert len(tables) == 3
    said = "\n".join([out.getvalue(), err.getvalue(), worker_said, caplog.text, *tables])
    assert "Zeile" in said  # the unreadable row is named, by its id
    assert "UndecryptableRow" in said
    for secret in secrets:
        assert secret not in said
    assert "gAAAAA" not in said
