"""django-allauth policy for this site."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter

from .mail import queue_email


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Render allauth's message here; send it through the e-mail task."""
        message = self.render_mail(template_prefix, email, context)
        html = None
        for content, mimetype in getattr(message, "alternatives", []) or []:
            if mimetype == "text/html":
                html = content
        queue_email(subject=message.subject, body=message.body, to=message.to, html=html, from_email=message.from_email)
