"""``seed_demo``: the core app's demo people, then each feature app's demo, passing the organisations in.

Each app that has demo data has a ``demo`` module with ``seed(organisations) -> counts`` and, optionally,
``finish(organisations)``, which runs after every app has seeded (a finished course is completed once its
sessions and answers exist). They run in ``INSTALLED_APPS`` order. The modules are found through the app
registry, so this app imports no feature app.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from types import ModuleType

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.module_loading import module_has_submodule

from peersupport import demo


def app_demos() -> list[ModuleType]:
    """The ``demo`` module of each of the project's own apps but this one, in ``INSTALLED_APPS`` order."""
    modules = []
    for config in apps.get_app_configs():
        if config.name == "peersupport" or Path(config.path).resolve().parent != Path(settings.BASE_DIR).resolve():
            continue  # the core app seeds first; installed packages are not ours to seed
        if module_has_submodule(config.module, "demo"):
            modules.append(import_module(f"{config.name}.demo"))
    return modules


@transaction.atomic
def seed_all() -> dict[str, int]:
    """Every app's demo data. Returns the count of each kind of row, for the printout."""
    organisations, counts = demo.seed()
    modules = app_demos()
    for module in modules:
        counts.update(module.seed(organisations))
    for module in modules:
        if hasattr(module, "finish"):
            module.finish(organisations)
    return counts


class Command(BaseCommand):
    help = "Create the demo organisations, people and data. Safe to run again: it changes nothing the second time."

    def handle(self, *args, **options):
        counts = seed_all()
        self.stdout.write("Demo data: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
        self.stdout.write("")
        self.stdout.write(f"Demo logins (every demo account's password is: {demo.DEMO_PASSWORD})")
        for organisation, email in demo.demo_logins():
            self.stdout.write(f"  {email:<34} {organisation}")
        self.stdout.write("  (members member01 … member20, facilitators facilitator1 and facilitator2 in each)")
        self.stdout.write("")
        self.stdout.write(
            "Leads, facilitators and the admin also need a code from an authenticator app. Add this setup key to "
            f"one (time-based, 6 digits): {demo.DEMO_TOTP_SECRET}"
        )
        self.stdout.write(f"  or open/scan: {demo.demo_totp_url()}")
