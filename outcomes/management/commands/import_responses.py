from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from outcomes.questionnaires.imports import COLUMNS, import_responses
from peersupport.models import Organisation


class Command(BaseCommand):
    help = (
        "Import questionnaire answers collected on paper or in another system, from a long-format CSV "
        f"with the columns {', '.join(COLUMNS)}. All or nothing; running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--org", required=True, help="the organisation's slug")

    def handle(self, *args, **options):
        organisation = Organisation.objects.filter(slug=options["org"]).first()
        if organisation is None:
            raise CommandError(f"No organisation with the slug {options['org']!r}.")
        try:
            text = options["file"].read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc}") from exc
        report = import_responses(organisation=organisation, text=text)
        if not report.ok:
            for error in report.errors:
                self.stderr.write(f"line {error.line}: {error.message}")
            raise CommandError(f"Nothing was imported: {len(report.errors)} rows were rejected.")
        self.stdout.write(
            f"Imported {report.responses_created} responses from {report.rows} rows "
            f"({report.responses_unchanged} already there, unchanged)."
        )
