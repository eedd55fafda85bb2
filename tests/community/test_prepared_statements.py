"""On PostgreSQL a statement the site runs again is executed as a prepared statement: planned
once per connection (settings: DATABASE_PREPARED_STATEMENTS), which is most of PostgreSQL's
work per page."""

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's own feature"),
]


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_page_requested_again_runs_prepared_statements(client_for):
    client = client_for("expert")
    for _ in range(3):
        assert client.get("/members/owner/").status_code == 200
    prepared = prepared_statements()
    # The viewer, the session and the page's profile, each planned once for this connection.
    assert any("django_session" in statement for statement in prepared)
    assert any("profiles_profile" in statement for statement in prepared)
    assert all("%s" not in statement for statement in prepared)  # bound by the server ($1)
