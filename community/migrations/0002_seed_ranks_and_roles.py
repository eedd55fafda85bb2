"""Seed the demo rank ladder and the two staff-role groups."""

from django.db import migrations

LADDER = [
    ("neuling", "Neuling", 10),
    ("aufsteiger", "Aufsteiger", 20),
    ("stammgast", "Stammgast", 30),
    ("mitgestalter", "Mitgestalter", 40),
    ("community-guide", "Community Guide", 50),
]
ROLES = [
    ("telekom-hilft-team", "Telekom hilft Team"),
    ("community-management", "Community Management"),
]


def seed(apps, schema_editor):
    Rank = apps.get_model("community", "Rank")
    RoleGroup = apps.get_model("community", "RoleGroup")
    Group = apps.get_model("auth", "Group")
    for code, name, order in LADDER:
        Rank.objects.get_or_create(code=code, defaults={"name": name, "order": order})
    for code, name in ROLES:
        group, _ = Group.objects.get_or_create(name=name)
        RoleGroup.objects.get_or_create(code=code, defaults={"group": group})


def unseed(apps, schema_editor):
    apps.get_model("community", "RoleGroup").objects.all().delete()
    apps.get_model("auth", "Group").objects.filter(name__in=[name for _, name in ROLES]).delete()
    apps.get_model("community", "Rank").objects.filter(code__in=[c for c, _, _ in LADDER]).delete()


class Migration(migrations.Migration):
    dependencies = [("community", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
