"""Pseudonymous participant ids: the same person gets the same id in every export of one organisation.

The id is HMAC-SHA256 of the user id under the organisation's secret key, in hex,
cut to 16 characters (64 bits: collisions are negligible at any realistic number
of participants). Without the key the id cannot be turned back into a user id,
even by trying every user id; ids of two organisations cannot be linked.
"""

from __future__ import annotations

import hashlib
import hmac

from outcomes.models import OrganisationSecret
from peersupport.models import Organisation

PSEUDONYM_LENGTH = 16


def secret_for(organisation: Organisation) -> bytes:
    """The organisation's pseudonym key, created on first use."""
    secret, _created = OrganisationSecret.objects.get_or_create(organisation=organisation)
    return bytes.fromhex(secret.pseudonym_key)


def pseudonym_with(key: bytes, user_id: int) -> str:
    """The pseudonym of ``user_id`` under ``key`` (for loops: fetch the key once with :func:`secret_for`)."""
    return hmac.new(key, str(user_id).encode("ascii"), hashlib.sha256).hexdigest()[:PSEUDONYM_LENGTH]


def pseudonym(organisation: Organisation, user_id: int) -> str:
    """The stable pseudonymous id of a person in this organisation's exports."""
    return pseudonym_with(secret_for(organisation), user_id)


class PseudonymCache:
    """``cache[user_id]`` is ``pseudonym_with(key, user_id)``, remembered for one export.

    A person has several responses, often one after another, so most look-ups are repeats. At most
    ``limit`` ids are kept (about 150 bytes each); when full the cache starts again empty, so memory
    stays bounded whatever the number of participants.
    """

    __slots__ = ("_ids", "key", "limit")

    def __init__(self, key: bytes, limit: int = 50_000) -> None:
        self.key = key
        self.limit = limit
        self._ids: dict[int, str] = {}

    def __getitem__(self, user_id: int) -> str:
        try:
            return self._ids[user_id]
        except KeyError:
            pass
        if len(self._ids) >= self.limit:
            self._ids.clear()
        self._ids[user_id] = pid = pseudonym_with(self.key, user_id)
        return pid
