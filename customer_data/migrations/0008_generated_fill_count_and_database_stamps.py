# Written by hand for Django 6.1.3: Django cannot alter a column into a generated one, so the
# fill count is removed and added again, with the index and the constraints that read it
# dropped before and created again after (SQLite cannot drop a column an index or a CHECK
# names; PostgreSQL would drop them silently).

from django.conf import settings
from django.db import migrations, models
from django.db.models.functions import Now

from community.db import lift_statement_timeout_in_migration


def stored(name):
    """1 when the encrypted column `name` holds a value (empty is stored as NULL), else 0."""
    return models.Case(
        models.When(**{f"{name}__isnull": False}, then=models.Value(1)),
        default=models.Value(0),
    )


FILLED_COUNT = stored("customer_number") + stored("mobile_number") + stored("further_info")


def count_filled_fields(apps, schema_editor):
    """Going back: the plain column comes back as 0 everywhere; count the values into it."""
    CustomerData = apps.get_model("customer_data", "CustomerData")
    CustomerData.objects.using(schema_editor.connection.alias).update(filled_count=FILLED_COUNT)


class Migration(migrations.Migration):

    dependencies = [
        ('customer_data', '0007_fill_and_access_log_order'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(lift_statement_timeout_in_migration, lift_statement_timeout_in_migration),
        migrations.RemoveIndex(model_name='customerdata', name='customerdata_fill_order'),
        migrations.RemoveConstraint(model_name='customerdata', name='filled_count_at_most_three'),
        migrations.RemoveConstraint(model_name='customerdata', name='no_contents_without_consent'),
        migrations.RunPython(migrations.RunPython.noop, count_filled_fields),
        migrations.RemoveField(model_name='customerdata', name='filled_count'),
        migrations.AddField(
            model_name='customerdata',
            name='filled_count',
            field=models.GeneratedField(
                db_persist=True,
                expression=FILLED_COUNT,
                output_field=models.PositiveSmallIntegerField(),
            ),
        ),
        # A row holding values without consent (impossible through the app) fails here,
        # loudly, rather than being guessed at.
        migrations.AddConstraint(
            model_name='customerdata',
            constraint=models.CheckConstraint(condition=models.Q(('filled_count__lte', 3)), name='filled_count_at_most_three'),
        ),
        migrations.AddConstraint(
            model_name='customerdata',
            constraint=models.CheckConstraint(condition=models.Q(('consent', True), ('filled_count', 0), _connector='OR'), name='no_contents_without_consent'),
        ),
        migrations.AddIndex(
            model_name='customerdata',
            index=models.Index(condition=models.Q(('filled_count__gt', 0)), fields=['consent_version', 'filled_count', 'user'], name='customerdata_fill_order'),
        ),
        migrations.AlterField(
            model_name='consentrecord',
            name='at',
            field=models.DateTimeField(db_default=Now(), db_index=True, verbose_name='Zeitpunkt'),
        ),
        migrations.AlterField(
            model_name='personaldataaccess',
            name='at',
            field=models.DateTimeField(db_default=Now(), db_index=True, verbose_name='Zeitpunkt'),
        ),
    ]
