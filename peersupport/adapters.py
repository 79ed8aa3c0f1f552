"""django-allauth policy for this site."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.utils.http import url_has_allowed_host_and_scheme

from .mail import queue_email
from .sites import SettingsSite, site_link

#: The session key of a page a signed-out person was on when asked to sign up or sign in (the front door):
#: they are brought back to it after the sign-in that follows, including the one on verifying their address.
RETURN_TO = "return_to"

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
