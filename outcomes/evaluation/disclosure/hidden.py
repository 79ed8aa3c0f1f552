"""A hidden figure as a value: which rule hid it, and the threshold it was hidden under.

Pages, exports and the JSON report put a :class:`Hidden` where the number would be, and read its
``reason`` to say why; nothing parses a display string to find out. The CSV/XLSX text is ``str()`` of it
(``suppressed (<k)``, ``suppressed (complementary)``, ``suppressed (reveals scores)``), the JSON report's
value ``as_json()``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Reason(enum.StrEnum):
    #: The figure is about 1 to k − 1 people (or is a statistic of fewer than k).
    SMALL = "small"
    #: The figure is not small itself; it is hidden so that a small one cannot be worked out from it.
    COMPLEMENTARY = "complementary"
    #: A statistic of k or more people whose distribution gives their scores away: every value the same (SD 0),
    #: or one value for all but one person (whose score then follows from the mean). Never a count.
    REVEALS_SCORES = "reveals_scores"


@dataclass(frozen=True, slots=True)
class Hidden:
    """A figure withheld by disclosure control. Two hidden values are equal when reason and k are."""

    reason: Reason
    k: int

    def __post_init__(self) -> None:
        if not isinstance(self.reason, Reason):
            object.__setattr__(self, "reason", Reason(self.reason))
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise ValueError(f"A threshold is a whole number of people; got {self.k!r}.")

    @classmethod
    def small(cls, k: int) -> Hidden:
        return cls(Reason.SMALL, k)

    @classmethod
    def complementary(cls, k: int) -> Hidden:
        return cls(Reason.COMPLEMENTARY, k)

    @classmethod
    def reveals_scores(cls, k: int) -> Hidden:
        return cls(Reason.REVEALS_SCORES, k)

    @property
    def is_small(self) -> bool:
        return self.reason is Reason.SMALL

    def explanation(self) -> str:
        """One sentence a lead reads beside the cell."""
        if self.is_small:
            return f"Hidden: fewer than {self.k} people."
        if self.reason is Reason.REVEALS_SCORES:
            return "Hidden: the scores are all the same, or all but one, so they would tell each person's score."
        return "Hidden so that a small number elsewhere cannot be worked out."

    def __str__(self) -> str:
        """The cell text in a CSV or XLSX file."""
        if self.is_small:
            return f"suppressed (<{self.k})"
        if self.reason is Reason.REVEALS_SCORES:
            return "suppressed (reveals scores)"
        return "suppressed (complementary)"

    def as_json(self) -> dict:
        return {"hidden": self.reason.value, "k": self.k}


def is_hidden(value: object) -> bool:
    return isinstance(value, Hidden)
