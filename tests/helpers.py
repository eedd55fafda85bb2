"""Small helpers shared by several test modules."""

from django.db import connection

from customer_data.models import ENCRYPTED_FIELDS, CustomerData

RAW_COLUMNS = [*ENCRYPTED_FIELDS, "customer_number_bidx", "consent", "filled_count"]


def raw_row(user_id: int) -> dict[str, object]:
    """A member's customer-data columns exactly as the database holds them (no decryption)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(c) for c in RAW_COLUMNS)} "  # noqa: S608 (fixed identifiers)
            f"FROM {quote(CustomerData._meta.db_table)} WHERE {quote('user_id')} = %s",
            [user_id],
        )
        row = cursor.fetchone()
    return dict(zip(RAW_COLUMNS, row, strict=True))
