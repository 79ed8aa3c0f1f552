import json

from django.core.management.base import BaseCommand, CommandError

from outcomes.evaluation.report import evaluation_report
from peersupport.models import Organisation


class Command(BaseCommand):
    help = (
        "Print every unsuppressed evaluation figure of an organisation (for staff). Schema: docs/evaluation-report.md"
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="the organisation's slug")
        parser.add_argument("--format", choices=["json"], default="json")

    def handle(self, *args, **options):
        organisation = Organisation.objects.filter(slug=options["org"]).first()
        if organisation is None:
            raise CommandError(f"No organisation with the slug {options['org']!r}.")
        self.stdout.write(json.dumps(evaluation_report(organisation), indent=2, sort_keys=False))
