"""Indexes the members directory needs with a million members.

- Newest or oldest members first: an index over the account's join date and id, walked in
  either direction (on both databases; the account table belongs to Django's auth app, so
  the index is created here).
- The name search on PostgreSQL: trigram GIN indexes over the display name and the username,
  upper-cased and with accents removed, so that "muller" finds "Müller" and "MÜLLER" through
  the index. `unaccent()` is only STABLE (its dictionary could change), and an index needs an
  IMMUTABLE expression: `immutable_unaccent()` wraps it with the dictionary named, and the
  search (`profiles.selectors`) queries through exactly the indexed expression. SQLite keeps
  its plain LIKE search and gets none of this.
"""

from django.conf import settings
from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations

from community.db import lift_statement_timeout_in_migration

JOINED_INDEX = "member_joined_order"
NAME_INDEXES = {
    # index name: (app label and model, column)
    "profile_name_search": ("profiles.Profile", "display_name"),
    "member_username_search": (settings.AUTH_USER_MODEL, "username"),
}


def _table_and_column(apps, model: str, field: str) -> tuple[str, str]:
    meta = apps.get_model(model)._meta
    return meta.db_table, meta.get_field(field).column


def create_joined_index(apps, schema_editor):
    table, joined = _table_and_column(apps, settings.AUTH_USER_MODEL, "date_joined")
    pk = apps.get_model(settings.AUTH_USER_MODEL)._meta.pk.column
    quote = schema_editor.quote_name
    schema_editor.execute(
        f"CREATE INDEX {quote(JOINED_INDEX)} ON {quote(table)} ({quote(joined)}, {quote(pk)})"
    )


def drop_joined_index(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(JOINED_INDEX)}")


def _schema_of(schema_editor, extension: str) -> str:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = %s",
            [extension],
        )
        return schema_editor.quote_name(cursor.fetchone()[0])


def create_name_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Schema-qualified inside, so neither the index nor a restored dump depends on the
    # search_path of whoever evaluates it.
    unaccent = _schema_of(schema_editor, "unaccent")
    trigram = _schema_of(schema_editor, "pg_trgm")
    schema_editor.execute(
        "CREATE FUNCTION immutable_unaccent(text) RETURNS text "
        "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE "
        f"AS $$ SELECT {unaccent}.unaccent('{unaccent}.unaccent'::regdictionary, $1) $$"
    )
    quote = schema_editor.quote_name
    for name, (model, field) in NAME_INDEXES.items():
        table, column = _table_and_column(apps, model, field)
        schema_editor.execute(
            f"CREATE INDEX {quote(name)} ON {quote(table)} USING gin "
            f"(UPPER(immutable_unaccent({quote(column)})) {trigram}.gin_trgm_ops)"
        )


def drop_name_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in NAME_INDEXES:
        schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")
    schema_editor.execute("DROP FUNCTION immutable_unaccent(text)")


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0003_directory_rank_order"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(lift_statement_timeout_in_migration, lift_statement_timeout_in_migration),
        migrations.RunPython(create_joined_index, drop_joined_index),
        # Both do nothing on other databases than PostgreSQL.
        UnaccentExtension(),
        TrigramExtension(),
        migrations.RunPython(create_name_search, drop_name_search),
    ]
