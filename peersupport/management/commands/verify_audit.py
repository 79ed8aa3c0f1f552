"""Check the audit trail's hash chain: every sealed row, in order, against its content and the row before it."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from peersupport import audit


class Command(BaseCommand):
    help = (
        "Recompute the audit trail's hash chain and report the first row that was changed, removed or inserted. "
        "Exits with an error when the chain is broken."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seal", action="store_true", help="seal rows still outside the chain first (as the seal_audit job does)"
        )

    def handle(self, *args, seal: bool = False, **options):
        if seal:
            self.stdout.write(f"Sealed {audit.seal_pending()} rows.")
        result = audit.verify()
        if result["unsealed"]:
            self.stdout.write(
                self.style.WARNING(
                    f"{result['unsealed']} rows older than 10 minutes are not sealed yet: "
                    "is the seal_audit job running?"
                )
            )
        if result["broken"]:
            raise CommandError(f"Audit chain broken after {result['checked']} good rows: {result['broken']}.")
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {result['checked']} rows checked."))
