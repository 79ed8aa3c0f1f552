"""Output: figures to stdout, progress to stderr."""

from __future__ import annotations

import sys
import time


def say(text: str = "") -> None:
    print(text, flush=True)


def note(text: str) -> None:
    """Progress, to stderr (not part of the figures)."""
    print(f"  [{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
