from django.db import migrations, models
from django.db.models import F, Q


def date_stored_numbers(apps, schema_editor):
    """Rows that hold a customer number or a phone number get `updated_at` as the date their
    numbers last changed: the last save, the closest date on record (it may be later than the
    numbers' own change, never earlier).

    Whether a number is stored is read from the two blind-index columns, so nothing is
    decrypted and no key is needed. A phone number stored before 0004 has its index only
    after `rebuild_blind_index` ran; such a row keeps NULL here until its numbers next
    change, and the pages then show no date for them."""
    customer_data = apps.get_model("customer_data", "CustomerData")
    stored = Q(customer_number_bidx__isnull=False) | Q(mobile_number_bidx__isnull=False)
    customer_data.objects.using(schema_editor.connection.alias).filter(stored).update(
        numbers_updated_at=F("updated_at")
    )


class Migration(migrations.Migration):

    dependencies = [
        ('customer_data', '0004_mobile_number_bidx_and_search_channels'),
    ]

    operations = [
        migrations.AddField(
            model_name='customerdata',
            name='numbers_updated_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(date_stored_numbers, migrations.RunPython.noop),
    ]
