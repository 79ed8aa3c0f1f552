from django.core.management.base import BaseCommand

from peersupport import demo


class Command(BaseCommand):
    help = "Create the demo organisations, people and data. Safe to run again: it changes nothing the second time."

    def handle(self, *args, **options):
        counts = demo.seed()
        self.stdout.write("Demo data: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
        self.stdout.write("")
        self.stdout.write(f"Demo logins (every demo account's password is: {demo.DEMO_PASSWORD})")
        for organisation, email in demo.demo_logins():
            self.stdout.write(f"  {email:<34} {organisation}")
        self.stdout.write("  (members member01 … member20, facilitators facilitator1 and facilitator2 in each)")
