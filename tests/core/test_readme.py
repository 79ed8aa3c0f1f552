"""The README a newcomer reads first: its tables render, and it points at nothing outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

from peersupport import demo

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def tables(text: str) -> list[list[str]]:
    """Markdown tables: runs of consecutive lines starting with '|'."""
    found, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    if current:
        found.append(current)
    return found


def test_every_demo_login_is_a_row_of_one_table():
    text = (ROOT / "README.md").read_text()
    logins = next(t for t in tables(text) if "| account |" in t[0])
    assert re.fullmatch(r"\|(\s*-+\s*\|)+", logins[1].replace(":", "-")), "the second line must be the rule"
    rows = "\n".join(logins)
    for email in (demo.STAFF_EMAIL, "lead@northbridge.example", "member01@northbridge.example"):
        assert f"`{email}`" in rows, email
    # A table row after text is not a table: every '|' line belongs to a table that starts with its header.
    for table in tables(text):
        assert len(table) >= 3 and set(table[1]) <= set("|-: "), table[0]


def test_host_port_and_the_in_process_work_are_documented():
    text = (ROOT / "README.md").read_text()
    assert "`HOST`, `PORT`" in text and "make run PORT=8080" in text
    assert "Without `REDIS_URL`" in text and "peersupport/scheduler.py" in text


def test_no_document_points_outside_the_repository():
    for path in DOCS:
        text = path.read_text()
        for target in re.findall(r"`([^`\s]+/[^`\s]*)`|\]\(([^)]+)\)", text):
            name = next(t for t in target if t)
            assert not name.startswith(("../", "/work", "~")), f"{path.name} names {name}"
