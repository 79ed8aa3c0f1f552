from pathlib import Path

from django.core.management.base import BaseCommand

from outcomes.management.commands.import_responses import organisation_of, read_csv, report_out
from outcomes.questionnaires.roster import COLUMNS, import_roster


class Command(BaseCommand):
    help = (
        "Import a roster kept on paper or in another system (people, their paper consent, their memberships) "
        f"from a CSV with the columns {', '.join(COLUMNS)}; see docs/importing.md. Creates accounts without "
        "passwords and e-mails nobody. All or nothing; running it again changes nothing; --dry-run checks and "
        "prints the summary without changing anything."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--org", required=True, help="the organisation's slug")
        parser.add_argument("--dry-run", action="store_true", help="check and summarise; change nothing")

    def handle(self, *args, **options):
        organisation = organisation_of(options["org"])
        report = import_roster(organisation=organisation, text=read_csv(options["file"]), dry_run=options["dry_run"])
        report_out(self, report)
