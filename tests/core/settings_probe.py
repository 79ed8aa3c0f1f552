"""Child process of ``test_settings_switch``: read the settings under each variant's environment, then run the
deploy checks, and print one JSON document.

Reads ``{"variants": {name: env}, "checks": [{"name", "env", "fail_level"}]}`` on stdin. Each variant executes
``peersupport.settings`` afresh (``runpy``, nothing cached in ``sys.modules``) under the base environment plus the
variant's, and reports what it chose, or the error it refused to start with. Django is then set up once, under
the first check's environment, and ``check --deploy`` runs; each further check runs with the settings that its
environment produces (every setting that differs is overridden), as a fresh ``manage.py check --deploy`` would.
"""

from __future__ import annotations

import io
import json
import os
import runpy
import sys

BASE = dict(os.environ)


def read_settings(env: dict) -> dict:
    os.environ.clear()
    os.environ.update({**BASE, **env})
    return runpy.run_module("peersupport.settings", run_name="peersupport.settings")


def summary(ns: dict) -> dict:
    db = ns["DATABASES"]["default"]
    return {
        "engine": db["ENGINE"],
        "name": str(db["NAME"]),
        "health": db.get("CONN_HEALTH_CHECKS"),
        "max_age": db.get("CONN_MAX_AGE"),
        "broker": ns["CELERY_BROKER_URL"],
        "eager": ns["CELERY_TASK_ALWAYS_EAGER"],
        "cache": ns["CACHES"]["default"]["BACKEND"],
        "cache_location": ns["CACHES"]["default"].get("LOCATION"),
        "debug": ns["DEBUG"],
        "site_url": ns["SITE_URL"],
    }


def run_check(fail_level: str) -> dict:
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    out = io.StringIO()
    try:
        call_command("check", deploy=True, fail_level=fail_level, stdout=out, stderr=out)
    except SystemCheckError as error:
        return {"passed": False, "output": out.getvalue() + str(error)}
    return {"passed": True, "output": out.getvalue()}


def main() -> None:
    plan = json.load(sys.stdin)
    found: dict = {"variants": {}, "checks": {}}
    for name, env in plan["variants"].items():
        try:
            found["variants"][name] = summary(read_settings(env))
        except Exception as error:  # the settings refused to load: what starting Django would print
            found["variants"][name] = {"refused": f"{type(error).__name__}: {error}"}

    first, *others = plan["checks"]
    read_settings(first["env"])  # os.environ as the first check's process would have it
    import django
    from django.conf import settings

    django.setup()
    found["checks"][first["name"]] = run_check(first["fail_level"])
    from django.test.utils import override_settings

    for check in others:
        ns = read_settings(check["env"])
        changed = {k: v for k, v in ns.items() if k.isupper() and getattr(settings, k, object()) != v}
        with override_settings(**changed):
            found["checks"][check["name"]] = run_check(check["fail_level"])
    print(json.dumps(found))


if __name__ == "__main__":
    main()
