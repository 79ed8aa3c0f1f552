"""What the exports keep: each organisation's pseudonym key."""

from __future__ import annotations

import secrets

from django.db import models

from peersupport.models import Organisation

# --- Exports -------------------------------------------------------------------------------------


def new_pseudonym_key() -> str:
    return secrets.token_hex(32)


class OrganisationSecret(models.Model):
    """An organisation's key for pseudonymous participant ids in exports. Never shown, never exported.

    Created on the first export (``outcomes.exports.pseudonyms.secret_for``). The same
    key gives the same id to the same person in every export of this organisation;
    ids from two organisations cannot be linked. Replacing the key breaks linkage with
    every earlier export.
    """

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="export_secret")
    pseudonym_key = models.CharField(max_length=64, default=new_pseudonym_key, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Export secret of {self.organisation}"

    def __repr__(self) -> str:
        return f"<OrganisationSecret organisation={self.organisation_id}>"
