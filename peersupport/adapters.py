"""django-allauth policy for this site."""

from __future__ import annotations

import hashlib

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from . import audit, secondfactor
from .clients import client_address
from .mail import queue_email
from .models import AuditEvent
from .sites import SettingsSite, site_link

#: The session key of a page a signed-out person was on when asked to sign up or sign in (the front door):
#: they are brought back to it after the sign-in that follows, including the one on verifying their address.
RETURN_TO = "return_to"

# A lockout is audited once per this many seconds (the shortest window of ACCOUNT_RATE_LIMITS["login_failed"]),
# however many refused attempts it meets: a long attack leaves a row every five minutes, not one per guess.
LOCKOUT_AUDIT_WINDOW = 300

#: The links allauth puts in its e-mails' context; each is rewritten onto SITE_URL.
LINK_KEYS = ("activate_url", "password_reset_url", "signup_url")


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Render allauth's message here, naming the site and linking to ``SITE_URL`` (whatever host the
        request came in on); send it through the outbox."""
        context = {"email": email, **context, "current_site": SettingsSite()}
        for key in LINK_KEYS:
            if context.get(key):
                context[key] = site_link(context[key])
        message = self.render_mail(template_prefix, email, context)
        html = None
        for content, mimetype in getattr(message, "alternatives", []) or []:
            if mimetype == "text/html":
                html = content
        queue_email(subject=message.subject, body=message.body, to=message.to, html=html, from_email=message.from_email)

    def get_login_redirect_url(self, request) -> str:
        target = request.session.pop(RETURN_TO, None)
        if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            return target
        return super().get_login_redirect_url(request)

    def get_client_ip(self, request: HttpRequest) -> str:
        """The client address of ``peersupport.clients`` (``TRUSTED_PROXY_COUNT``), for every rate limit."""
        return client_address(request) or super().get_client_ip(request)

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials) -> str:
        """Failed sign-ins count per address *and client*: another client's failures never lock the owner out
        of their own device. (allauth's default key is the address alone.) Per client across addresses is
        the ``ip`` part of ``ACCOUNT_RATE_LIMITS["login_failed"]``."""
        login = str(credentials.get("email") or credentials.get("username") or "").lower()
        return f"{login}|{self.get_client_ip(request)}"

    def pre_authenticate(self, request: HttpRequest, **credentials) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            self._audit_lockout(request, credentials)
            raise

    def _audit_lockout(self, request: HttpRequest, credentials: dict) -> None:
        """One audit row per lockout (address and client), however many refused attempts follow it."""
        attempted = str(credentials.get("email") or credentials.get("username") or "")[:254]
        key = self._get_login_attempts_cache_key(request, **credentials)
        marker = "signin-lockout:" + hashlib.sha256(key.encode()).hexdigest()
        if cache.add(marker, "1", timeout=LOCKOUT_AUDIT_WINDOW):
            audit.record(AuditEvent.Action.SIGN_IN_LOCKED_OUT, request=request, attempted=attempted)


class MFAAdapter(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """Someone who must have a second factor (peersupport.secondfactor) cannot remove their last one."""
        if authenticator.type not in secondfactor.SECOND_FACTOR_TYPES:
            return super().can_delete_authenticator(authenticator)
        others = Authenticator.objects.filter(
            user_id=authenticator.user_id, type__in=secondfactor.SECOND_FACTOR_TYPES
        ).exclude(pk=authenticator.pk)
        if not others.exists() and secondfactor.must_have_one(authenticator.user):
            return False
        return super().can_delete_authenticator(authenticator)
