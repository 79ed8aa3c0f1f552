"""Exports for service leads: summary tables (CSV, XLSX), a meta-analysis table, item-level answers
with pseudonymous ids, and a data dictionary.

- ``cells``: formula-injection neutralising and how a suppressed figure is written.
- ``suppression``: the organisation's threshold k and secondary suppression across linked tables.
- ``summary``: the published figures (outcome, change, flow) after disclosure control.
- ``items``: the long-format item-level rows, streamed.
- ``pseudonyms``: the organisation's secret and the participant ids made from it.
- ``dictionary``: what every column and every instrument item means.
- ``writers``: CSV lines and XLSX workbooks from rows.
"""
