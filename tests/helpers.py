"""Small helpers shared by several test modules."""

from django.db import connection

from customer_data.models import ENCRYPTED_FIELDS, CustomerData

RAW_COLUMNS = [*ENCRYPTED_FIELDS, "customer_number_bidx", "consent", "filled_count"]


def raw_row(user_id: int) -> dict[str, object] | None:
    """A member's customer-data columns exactly as the database holds them (no decryption),
    or None when the member has no row."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(c) for c in RAW_COLUMNS)} "  # noqa: S608 (fixed identifiers)
            f"FROM {quote(CustomerData._meta.db_table)} WHERE {quote('user_id')} = %s",
            [user_id],
        )
        row = cursor.fetchone()
    return None if row is None else dict(zip(RAW_COLUMNS, row, strict=True))


def store_customer_data(
    user,
    *,
    customer_number: str = "4711081512",
    mobile_number: str = "+491701234567",
    further_info: str = "Rückruf bitte ab 18 Uhr, Auftrag A-99172",
):
    """Give `user` consent and all three values, as the Profil tab would."""
    from customer_data.services import save_consent_and_values

    return save_consent_and_values(
        user_id=user.pk,
        by=user,
        consent=True,
        cleaned={
            "customer_number": customer_number,
            "mobile_number": mobile_number,
            "further_info": further_info,
        },
    )


def rewrite_history(records, **values) -> int:
    """Change append-only rows for a test's time travel, bypassing the guard on purpose
    (the app itself has no way to do this)."""
    from django.db.models import QuerySet

    return QuerySet.update(records, **values)
