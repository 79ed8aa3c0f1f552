"""Pseudonymous participant ids for the item-level export: one per person per group per export.

The id is HMAC-SHA256, under the organisation's secret key, of the export's random nonce, the group id and
the user id, in hex, cut to 16 characters (64 bits: collisions are negligible at any realistic number of
participants). So the same person has another id in each group and in each download: two groups' rows, or
two downloads, cannot be joined on the id (docs/statistics.md §6, "Person-level export"). Within one group
of one download a person's answers at every time point share one id, which is what an analysis of change
needs. Without the key the id cannot be turned back into a user id, even by trying every user id; ids of
two organisations cannot be linked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from outcomes.models import OrganisationSecret
from peersupport.models import Organisation

PSEUDONYM_LENGTH = 16
NONCE_BYTES = 16


def secret_for(organisation: Organisation) -> bytes:
    """The organisation's pseudonym key, created on first use."""
    secret, _created = OrganisationSecret.objects.get_or_create(organisation=organisation)
    return bytes.fromhex(secret.pseudonym_key)


def export_nonce() -> bytes:
    """A new random nonce: one per download, never stored, so no two downloads share ids."""
    return secrets.token_bytes(NONCE_BYTES)


def pseudonym_with(key: bytes, nonce: bytes, group_id: int, user_id: int) -> str:
    """The pseudonym of ``user_id`` in group ``group_id`` of the export with ``nonce``, under ``key``."""
    message = f"{nonce.hex()}:{group_id}:{user_id}".encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:PSEUDONYM_LENGTH]


class PseudonymCache:
    """``cache[group_id, user_id]`` is ``pseudonym_with(key, nonce, group_id, user_id)``, remembered for one export.

    A person has several responses, often one after another, so most look-ups are repeats. At most
    ``limit`` ids are kept (about 150 bytes each); when full the cache starts again empty, so memory
    stays bounded whatever the number of participants.
    """

    __slots__ = ("_ids", "key", "limit", "nonce")

    def __init__(self, key: bytes, nonce: bytes, limit: int = 50_000) -> None:
        self.key = key
        self.nonce = nonce
        self.limit = limit
        self._ids: dict[tuple[int, int], str] = {}

    def __getitem__(self, group_and_user: tuple[int, int]) -> str:
        try:
            return self._ids[group_and_user]
        except KeyError:
            pass
        if len(self._ids) >= self.limit:
            self._ids.clear()
        self._ids[group_and_user] = pid = pseudonym_with(self.key, self.nonce, *group_and_user)
        return pid
