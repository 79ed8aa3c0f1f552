"""Sign-up, e-mail verification, sign-in, and no account enumeration."""

from __future__ import annotations

import re
import time

import pytest
from django.core import mail
from django.urls import reverse

from peersupport.models import AuditEvent, User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def link_in(message) -> str:
    return re.search(r"https?://[^\s]+", message.body).group(0)


def sign_up(client, on_commit, email="new.person@example.org"):
    with on_commit():
        return client.post(reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD})


def test_sign_up_then_verify_then_sign_in(client, on_commit):
    response = sign_up(client, on_commit)
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.person@example.org"]

    # Mandatory verification: no sign-in before the link is used.
    client.logout()
    response = client.post(reverse("account_login"), {"login": "new.person@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session

    confirm_path = re.sub(r"^https?://[^/]+", "", link_in(mail.outbox[-1]))
    response = client.post(confirm_path)
    assert response.status_code == 302

    client.logout()
    response = client.post(reverse("account_login"), {"login": "New.Person@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert client.get(reverse("home")).context["user"].email == "new.person@example.org"


def test_sign_in_and_failed_sign_in_are_audited(client):
    user = UserFactory(email="amy@example.org")
    client.post(reverse("account_login"), {"login": "amy@example.org", "password": "wrong-password"})
    client.post(reverse("account_login"), {"login": "amy@example.org", "password": PASSWORD})
    failed = AuditEvent.objects.get(action=AuditEvent.Action.SIGN_IN_FAILED)
    assert failed.actor is None
    assert failed.detail["attempted"] == "amy@example.org"
    assert failed.ip_address == "127.0.0.1"
    signed_in = AuditEvent.objects.get(action=AuditEvent.Action.SIGN_IN)
    assert signed_in.actor == user


def page_text(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def test_password_reset_answers_the_same_whether_or_not_the_address_is_registered(client, on_commit):
    UserFactory(email="known@example.org")
    with on_commit():
        known = client.post(reverse("account_reset_password"), {"email": "known@example.org"})
    with on_commit():
        unknown = client.post(reverse("account_reset_password"), {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known.url == unknown.url
    assert page_text(client.get(known.url)) == page_text(client.get(unknown.url))
    # Each address gets a message; only the mailbox owner learns which kind.
    assert sorted(m.to[0] for m in mail.outbox) == ["known@example.org", "nobody@example.org"]


def test_sign_up_with_a_registered_address_answers_like_a_new_one(client, on_commit):
    UserFactory(email="taken@example.org")
    taken = sign_up(client, on_commit, email="taken@example.org")
    client.logout()
    fresh = sign_up(client, on_commit, email="fresh@example.org")
    assert taken.status_code == fresh.status_code == 302
    assert taken.url == fresh.url == reverse("account_email_verification_sent")
    assert User.objects.filter(email__iexact="taken@example.org").count() == 1


def test_repeated_failed_sign_ins_are_rate_limited(client):
    UserFactory(email="target@example.org")
    statuses = [
        client.post(reverse("account_login"), {"login": "target@example.org", "password": f"guess-{i}"}).status_code
        for i in range(8)
    ]
    last = client.post(reverse("account_login"), {"login": "target@example.org", "password": PASSWORD})
    assert 429 in statuses or last.status_code == 429 or b"Too many failed login attempts" in last.content
    assert "_auth_user_id" not in client.session


def test_any_user_can_turn_on_an_authenticator_app_and_gets_recovery_codes(client):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value

    user = UserFactory(email="careful@example.org")
    client.post(reverse("account_login"), {"login": "careful@example.org", "password": PASSWORD})
    # Turning on 2FA asks for the password again first.
    asked = client.get(reverse("mfa_activate_totp"))
    assert asked.url.startswith(reverse("account_reauthenticate"))
    client.post(asked.url, {"password": PASSWORD})
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    response = client.post(reverse("mfa_activate_totp"), {"code": code})
    assert response.status_code == 302
    kinds = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    assert kinds == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}
