"""Each session gets a random UID for calendar feeds (before: ``session-<pk>@<SITE_URL's host>``).

A unique field on existing rows takes three steps: add it nullable, give every row its own value, then make
it unique and required. Reversing removes the field (feeds go back to the old UIDs only with the old code).
"""

import uuid

from django.db import migrations, models


def give_each_session_a_uid(apps, schema_editor):
    GroupSession = apps.get_model("group_sessions", "GroupSession")
    sessions = list(GroupSession.objects.filter(uid__isnull=True).only("pk"))
    for session in sessions:
        session.uid = uuid.uuid4()
    GroupSession.objects.bulk_update(sessions, ["uid"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("group_sessions", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="groupsession",
            name="uid",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(give_each_session_a_uid, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="groupsession",
            name="uid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
