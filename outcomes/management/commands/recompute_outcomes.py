import sys

from django.core.management.base import BaseCommand, CommandError

from outcomes.evaluation import recompute
from peersupport.models import Organisation


class Command(BaseCommand):
    help = "Recompute evaluation figures: stale cohorts by default, every cohort with --all."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="only this organisation (its slug)")
        parser.add_argument("--all", action="store_true", help="recompute every cohort, stale or not")

    def handle(self, *args, **options):
        organisation_id = None
        if options["org"]:
            organisation = Organisation.objects.filter(slug=options["org"]).first()
            if organisation is None:
                raise CommandError(f"No organisation with the slug {options['org']!r}.")
            organisation_id = organisation.pk

        def progress(done: int, total: int) -> None:
            width = 30
            filled = width * done // max(total, 1)
            self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} cohorts", ending="")
            self.stdout.flush()

        if options["all"]:
            n = recompute.recompute_all(organisation_id=organisation_id, progress=progress)
        else:
            n = recompute.recompute_stale(organisation_id=organisation_id, progress=progress)
        if n and sys.stdout.isatty():
            self.stdout.write("")
        self.stdout.write(f"\nRecomputed {n} cohorts.")
