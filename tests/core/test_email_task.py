"""Every e-mail goes through the outbox: delivered after the transaction commits, never after a rollback."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction

from peersupport.mail import queue_email

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_email_queued_in_a_committed_transaction_is_sent():
    with transaction.atomic():
        queue_email(subject="Hello", body="Body", to=["a@example.org"], html="<p>Body</p>")
        assert mail.outbox == []  # nothing leaves before commit
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Hello"
    assert mail.outbox[0].alternatives[0][1] == "text/html"


def test_an_email_queued_in_a_rolled_back_transaction_is_never_sent():
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_email(subject="Hello", body="Body", to=["a@example.org"])
        raise RuntimeError("the write failed")
    assert mail.outbox == []
