"""The organisation's suppression threshold k (docs/statistics.md §6).

What is hidden is decided by the recompute (``outcomes.evaluation.protection``, with the hierarchical method
of :mod:`outcomes.evaluation.disclosure.hierarchy`) and stored beside the figures; nothing protects on a request.
"""

from __future__ import annotations

from outcomes.evaluation.disclosure.mask import DEFAULT_K, MIN_K


def threshold_for(organisation) -> int:
    """The organisation's suppression threshold k (``Organisation.suppression_threshold``), never below MIN_K."""
    configured = getattr(organisation, "suppression_threshold", None) or DEFAULT_K
    return max(MIN_K, int(configured))
