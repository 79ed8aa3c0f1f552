"""Risk alerts that were never e-mailed (they were sent only through a task queued after commit, which a broker
outage lost) get their e-mails recorded in the outbox, so they go out once this release runs.

Forward only in effect: going back leaves the outbox rows (the outbox table itself goes with peersupport 0004).
"""

from django.db import migrations


def record_unsent(apps, schema_editor):
    RiskAlert = apps.get_model("outcomes", "RiskAlert")
    User = apps.get_model("peersupport", "User")
    OutboxMessage = apps.get_model("peersupport", "OutboxMessage")
    for alert in RiskAlert.objects.filter(notified_at__isnull=True).select_related("group"):
        facilitators = set(alert.group.facilitators.values_list("email", flat=True))
        leads = set(
            User.objects.filter(
                roles__organisation_id=alert.organisation_id, roles__kind="lead", is_active=True
            ).values_list("email", flat=True)
        )
        for email in sorted(facilitators | leads):
            OutboxMessage.objects.get_or_create(
                dedupe_key=f"risk_alert:{alert.pk}:{email.lower()}",
                defaults={
                    "kind": "risk_alert",
                    "payload": {"alert_id": alert.pk, "to": email},
                    "subject_type": "risk_alert",
                    "subject_id": str(alert.pk),
                    "recipient": email,
                },
            )


class Migration(migrations.Migration):
    dependencies = [
        ("outcomes", "0011_group_data_lz4"),
        ("peersupport", "0004_outbox"),
        ("groups", "0001_initial"),
    ]

    operations = [migrations.RunPython(record_unsent, migrations.RunPython.noop)]
