from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from outcomes.questionnaires.imports import COLUMNS, import_responses
from peersupport.models import Organisation


def read_csv(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read {path}: {exc}") from exc


def organisation_of(slug: str) -> Organisation:
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise CommandError(f"No organisation with the slug {slug!r}.")
    return organisation


def report_out(command: BaseCommand, report) -> None:
    """The summary on stdout; the rejected rows, grouped by message, on stderr and as the command's failure."""
    if not report.ok:
        for group in report.grouped():
            command.stderr.write(str(group))
        raise CommandError(" ".join(report.summary()))
    for line in report.summary():
        command.stdout.write(line)


class Command(BaseCommand):
    help = (
        "Import questionnaire answers collected on paper or in another system, from a long-format CSV "
        f"with the columns {', '.join(COLUMNS)} (import the roster first: import_roster). All or nothing; running "
        "it again changes nothing; --dry-run checks and prints the summary without changing anything."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--org", required=True, help="the organisation's slug")
        parser.add_argument("--dry-run", action="store_true", help="check and summarise; change nothing")

    def handle(self, *args, **options):
        organisation = organisation_of(options["org"])
        report = import_responses(organisation=organisation, text=read_csv(options["file"]), dry_run=options["dry_run"])
        report_out(self, report)
