"""Audit action names follow one convention: the thing, then what happened to it, in the past tense."""

from django.db import migrations

RENAMED = {"export": "data_exported", "sign_in": "signed_in"}


def rename(apps, schema_editor, names):
    AuditEvent = apps.get_model("peersupport", "AuditEvent")
    for old, new in names.items():
        AuditEvent.objects.filter(action=old).update(action=new)


def forwards(apps, schema_editor):
    rename(apps, schema_editor, RENAMED)


def backwards(apps, schema_editor):
    rename(apps, schema_editor, {new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [("peersupport", "0008_user_name_on_public_pages")]

    operations = [migrations.RunPython(forwards, backwards)]
