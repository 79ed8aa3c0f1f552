"""Scale benchmark of disclosure control alone: the protection of nested tables and its auditor.

Run from the repository root (no database needed):

    .venv/bin/python benchmarks/disclosure.py [--groups 50 250 1000 5000] [--members 20] [--audit-up-to 50]

For each size it builds a seeded organisation (``outcomes.evaluation.disclosure.seeded``: groups of
``--members`` members in curricula, formats, deliveries, audiences and date ranges; the n at two time
points, the paired change's counts and the flow's four linked tables), times ``protect`` and prints
how it protected each small figure (one transfer, or a linear programme), the share of published
figures hidden, and how much the process's peak resident memory grew during the protection. Up to ``--audit-up-to``
groups it also runs the auditor on the published view and prints its time, linear programmes and
violations. Prints figures; asserts nothing about timings.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from outcomes.evaluation.disclosure.audit import audit  # noqa: E402
from outcomes.evaluation.disclosure.hierarchy import links_of, protect, published_view  # noqa: E402
from outcomes.evaluation.disclosure.seeded import seeded_tables  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, nargs="+", default=[50, 250, 1000, 5000])
    parser.add_argument("--members", type=int, default=20, help="members per group (every group the same)")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20250601)
    parser.add_argument("--audit-up-to", type=int, default=50, help="run the auditor up to this many groups")
    args = parser.parse_args()
    print(f"k = {args.k}, {args.members} members per group, seed {args.seed}; load average {os.getloadavg()[0]:.1f}")
    header = (
        f"{'groups':>7} {'figures':>8} {'atoms':>7} {'small':>6} {'transfer':>8} {'by LP':>6} {'left':>5} "
        f"{'hidden':>7} {'build s':>8} {'protect s':>9} {'ms/group':>8} {'+RSS MB':>8} {'audit s':>8} {'LPs':>7} "
        f"{'breaks':>6}"
    )
    print(header)
    for groups in args.groups:
        started = time.perf_counter()
        tables = seeded_tables(groups, seed=args.seed, members=(args.members, args.members))
        built = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        protection = protect(tables, k=args.k)
        peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
        protected = time.perf_counter()
        published = int(tables.published.sum())
        small = int(((tables.value > 0) & (tables.value < args.k)).sum())
        audit_s, lps, breaks = "", "", ""
        if groups <= args.audit_up_to:
            truth = {key: int(tables.value[i]) for i, key in enumerate(tables.keys)}
            begun = time.perf_counter()
            result = audit(published_view(tables, protection), k=args.k, links=links_of(tables), truth=truth)
            audit_s, lps, breaks = f"{time.perf_counter() - begun:.1f}", str(result.lps), str(len(result.violations))
        protect_s = protected - built
        print(
            f"{groups:>7} {len(tables.keys):>8} {tables.x.size:>7} {small:>6} {protection.transfers:>8} "
            f"{protection.by_lp:>6} {len(protection.unprotected):>5} {len(protection.hidden) / published:>6.0%} "
            f"{built - started:>8.1f} {protect_s:>9.1f} {1000 * protect_s / groups:>8.1f} {peak / 2**20:>8.1f} "
            f"{audit_s:>8} {lps:>7} {breaks:>6}",
            flush=True,
        )


if __name__ == "__main__":
    main()
