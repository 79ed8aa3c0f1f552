"""Writing the audit trail. The only code that creates AuditEvent rows.

**Tamper-evident.** Every row is sealed into a hash chain just after the transaction that wrote it commits
(``seal_pending``, run on commit and by the ``seal_audit`` job every minute for anything left): in the order they
are sealed, each row gets ``chain_seq``, the previous row's hash and ``hash = sha256(previous hash, content)``.
``manage.py verify_audit`` recomputes the chain and names the first row whose content or link does not match.
On PostgreSQL a trigger (migration 0011) refuses UPDATE and DELETE on the table, except setting the sealing
columns once and setting ``actor``/``organisation`` to NULL when that user or organisation is deleted: neither is
part of the hashed content, which holds ``actor_ref`` and ``organisation_ref`` instead. On SQLite the model
and its queryset refuse changes (the application rule).

**No lock while the caller works.** ``record`` only inserts: it takes no lock, so a long transaction that audits
(a recompute, an import) never makes other writers wait. Sealing takes one advisory lock for its own short
transaction after commit. The cost: a row is sealed a moment after its commit (or at the next job, if the
process died in between); ``verify_audit`` reports unsealed rows older than a few minutes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .clients import client_address
from .models import AuditEvent, Organisation

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
SEAL_BATCH = 500
_SEAL_LOCK = 0x41554454  # "AUDT": the advisory lock of the sealer (PostgreSQL)


def actor_reference(user_id: int | None) -> str:
    """A stable pseudonym of a user for the audit trail: the same for every row of one user, kept when the user
    is deleted or erased, and meaningless without ``AUDIT_ACTOR_KEY``."""
    if user_id is None:
        return ""
    return "u-" + salted_hmac("peersupport.audit.actor", str(user_id), secret=settings.AUDIT_ACTOR_KEY).hexdigest()[:24]


def record(
    action: str,
    *,
    actor=None,
    organisation: Organisation | None = None,
    obj: models.Model | None = None,
    request: HttpRequest | None = None,
    **detail: Any,
) -> AuditEvent:
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    event = AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_ref=actor_reference(actor.pk if actor is not None else None),
        organisation=organisation,
        organisation_ref=str(organisation.pk) if organisation is not None else "",
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        detail=detail,
        ip_address=client_address(request),
    )
    _seal_after_commit()
    return event


# --- The hash chain -----------------------------------------------------------------------------------------


def content_of(event: AuditEvent) -> dict:
    """What the hash covers: everything the row says, except the links a deletion may set to NULL."""
    at = event.at.astimezone(dt.UTC) if event.at.tzinfo else event.at
    return {
        "id": event.pk,
        "at": at.isoformat(),
        "action": event.action,
        "actor": event.actor_ref,
        "organisation": event.organisation_ref,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "detail": event.detail,
        "ip_address": event.ip_address or "",
    }


def link_hash(prev_hash: str, event: AuditEvent) -> str:
    canonical = json.dumps(content_of(event), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def _seal_after_commit() -> None:
    """One sealing per transaction, whatever it audited."""
    pending = (getattr(callback, "__name__", "") for _, callback, _ in connection.run_on_commit)
    if connection.in_atomic_block and "_seal_now" in pending:
        return
    transaction.on_commit(_seal_now, robust=True)


def _seal_now() -> None:
    try:
        seal_pending()
    except IntegrityError:  # another process sealed the same place first (SQLite has no lock): the job retries
        logger.info("audit: another sealer was first; the seal_audit job will seal what is left")


def seal_pending(*, limit: int = SEAL_BATCH) -> int:
    """Seal the unsealed rows, oldest first, into the chain; how many were sealed."""
    sealed = 0
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEAL_LOCK])
            last = AuditEvent.objects.filter(chain_seq__isnull=False).order_by("-chain_seq").only("chain_seq", "hash")
            last = last.first()
            seq, prev = (last.chain_seq, last.hash) if last else (0, GENESIS)
            batch = list(AuditEvent.objects.filter(chain_seq__isnull=True).order_by("id")[:limit])
            for event in batch:
                seq += 1
                event.chain_seq, event.prev_hash = seq, prev
                event.hash = prev = link_hash(prev, event)
            if batch:
                # The model refuses updates; sealing is the one write the rules (and the trigger) allow.
                models.QuerySet(AuditEvent).bulk_update(batch, ["chain_seq", "prev_hash", "hash"])
        sealed += len(batch)
        if len(batch) < limit:
            return sealed


def verify(*, unsealed_after: dt.timedelta = dt.timedelta(minutes=10)) -> dict:
    """Walk the chain in order. ``broken`` describes the first row whose link or content does not match (None
    when all do); ``unsealed`` counts rows older than ``unsealed_after`` that are not in the chain yet."""
    prev, expected_seq, checked = GENESIS, 1, 0
    broken = None
    rows = AuditEvent.objects.filter(chain_seq__isnull=False).order_by("chain_seq")
    for event in rows.iterator(chunk_size=2000):
        where = (
            f"chain position {event.chain_seq} (audit event {event.pk}, {event.at:%Y-%m-%d %H:%M:%S} {event.action})"
        )
        if event.chain_seq != expected_seq:
            broken = f"position {expected_seq} is missing before {where}: a row was deleted"
        elif event.prev_hash != prev:
            broken = f"{where} does not link to the row before it: a row was removed, added or re-sealed"
        elif event.hash != link_hash(prev, event):
            broken = f"{where} was changed after it was written: its content no longer matches its hash"
        if broken:
            break
        prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    unsealed = AuditEvent.objects.filter(chain_seq__isnull=True, at__lt=timezone.now() - unsealed_after).count()
    return {"checked": checked, "broken": broken, "unsealed": unsealed}
