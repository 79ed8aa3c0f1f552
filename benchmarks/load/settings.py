"""Settings of the load benchmark's server: production's (``DJANGO_DEBUG=0``) over plain HTTP on loopback.

Only what HTTP on 127.0.0.1 needs differs: no redirect to HTTPS, no HSTS, and cookies without the
``Secure`` flag (a client does not send a secure cookie over http://). Everything else, the rate limits
included, is ``peersupport.settings`` as deployed. ``run.py`` sets ``DJANGO_SETTINGS_MODULE`` to this
module for gunicorn, the worker and its own seeding.
"""

from peersupport.settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
