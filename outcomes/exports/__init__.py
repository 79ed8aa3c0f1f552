"""Exports for service leads: summary tables (CSV, XLSX), a meta-analysis table, item-level answers
with pseudonymous ids, and a data dictionary. Nothing else in the project imports this package.

- ``cells``: formula-injection neutralising and plain cell values.
- ``items``: the long-format item-level rows, streamed.
- ``pseudonyms``: the organisation's secret and the participant ids made from it.
- ``dictionary``: what every column and every instrument item means.
- ``writers``: CSV lines and XLSX workbooks from rows.
- ``views``: the export pages and downloads.

The published figures and their disclosure control come from ``outcomes.evaluation.summary`` and
``outcomes.evaluation.disclosure``.
"""
