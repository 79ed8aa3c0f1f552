"""The Celery application.

Settings come from Django settings under the ``CELERY_`` namespace, which
``peersupport.settings`` derives from the environment (``REDIS_URL``).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peersupport.settings")

app = Celery("peersupport")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
