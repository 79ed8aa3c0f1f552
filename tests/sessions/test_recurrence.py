"""The pure recurrence: local wall-clock times stay put across daylight-saving changes."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from sessions import recurrence
from sessions.recurrence import RecurrenceError, Rule

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def rule(**overrides) -> Rule:
    values = {
        "start_date": dt.date(2025, 3, 1),
        "weekdays": frozenset({THU}),
        "local_time": dt.time(18, 0),
        "time_zone": "Europe/London",
        "duration_minutes": 90,
        "count": 8,
    }
    values.update(overrides)
    return Rule(**values)


def local(occurrence, tz: str) -> dt.datetime:
    return occurrence.starts_at.astimezone(zoneinfo.ZoneInfo(tz))


@pytest.mark.parametrize(
    ("tz", "start", "winter_utc_hour", "summer_utc_hour"),
    [
        # London: GMT (UTC+0) until 30 March 2025, then BST (UTC+1) until 26 October.
        ("Europe/London", dt.date(2025, 3, 1), 18, 17),
        # Berlin: CET (UTC+1) until 30 March 2025, then CEST (UTC+2) until 26 October.
        ("Europe/Berlin", dt.date(2025, 3, 1), 17, 16),
        # New York: EST (UTC-5) until 9 March 2025, then EDT (UTC-4) until 2 November.
        ("America/New_York", dt.date(2025, 2, 20), 23, 22),
    ],
)
def test_a_weekly_18_00_group_stays_at_18_00_local_across_the_spring_change(
    tz, start, winter_utc_hour, summer_utc_hour
):
    sessions = recurrence.occurrences(rule(time_zone=tz, start_date=start, count=8))
    assert all(local(o, tz).time() == dt.time(18, 0) for o in sessions)
    assert all(o.starts_at.tzinfo == dt.UTC for o in sessions)
    utc_hours = [o.starts_at.hour for o in sessions]
    assert utc_hours[0] == winter_utc_hour
    assert utc_hours[-1] == summer_utc_hour
    offsets = {local(o, tz).utcoffset() for o in sessions}
    assert len(offsets) == 2, "the UTC offset changes during the series"


@pytest.mark.parametrize(
    ("tz", "start", "summer_utc_hour", "winter_utc_hour"),
    [
        ("Europe/London", dt.date(2025, 10, 2), 17, 18),
        ("Europe/Berlin", dt.date(2025, 10, 2), 16, 17),
        # New York falls back on 2 November 2025.
        ("America/New_York", dt.date(2025, 10, 16), 22, 23),
    ],
)
def test_a_weekly_18_00_group_stays_at_18_00_local_across_the_autumn_change(
    tz, start, summer_utc_hour, winter_utc_hour
):
    sessions = recurrence.occurrences(rule(time_zone=tz, start_date=start, count=6))
    assert [local(o, tz).time() for o in sessions] == [dt.time(18, 0)] * 6
    assert sessions[0].starts_at.hour == summer_utc_hour
    assert sessions[-1].starts_at.hour == winter_utc_hour
    assert [o.ends_at - o.starts_at for o in sessions] == [dt.timedelta(minutes=90)] * 6


def test_the_london_series_has_exact_utc_times_either_side_of_the_change():
    sessions = recurrence.occurrences(rule(start_date=dt.date(2025, 3, 20), count=2))
    # Thu 20 March 18:00 GMT = 18:00 UTC; Thu 27 March is still GMT (change is Sun 30th);
    assert [o.starts_at for o in sessions] == [
        dt.datetime(2025, 3, 20, 18, tzinfo=dt.UTC),
        dt.datetime(2025, 3, 27, 18, tzinfo=dt.UTC),
    ]
    after = recurrence.occurrences(rule(start_date=dt.date(2025, 4, 1), count=1))
    # Thu 3 April 18:00 BST = 17:00 UTC.
    assert after[0].starts_at == dt.datetime(2025, 4, 3, 17, tzinfo=dt.UTC)


def test_a_time_that_does_not_exist_on_spring_forward_day_moves_forward_by_the_gap():
    # 01:30 on Sunday 30 March 2025 does not exist in London: clocks go from 01:00 to 02:00.
    [o] = recurrence.occurrences(
        rule(start_date=dt.date(2025, 3, 30), weekdays=frozenset({SUN}), local_time=dt.time(1, 30), count=1)
    )
    assert o.starts_at == dt.datetime(2025, 3, 30, 1, 30, tzinfo=dt.UTC)
    assert local(o, "Europe/London").time() == dt.time(2, 30)


def test_an_ambiguous_time_on_fall_back_day_is_the_first_earlier_one():
    # 01:30 on Sunday 26 October 2025 happens twice in London: first BST (00:30 UTC), then GMT (01:30 UTC).
    [o] = recurrence.occurrences(
        rule(start_date=dt.date(2025, 10, 26), weekdays=frozenset({SUN}), local_time=dt.time(1, 30), count=1)
    )
    assert o.starts_at == dt.datetime(2025, 10, 26, 0, 30, tzinfo=dt.UTC)


def test_fortnightly_on_two_weekdays_skips_every_other_week():
    sessions = recurrence.occurrences(
        rule(start_date=dt.date(2025, 1, 6), weekdays=frozenset({MON, THU}), interval_weeks=2, count=4)
    )
    assert [o.local_date for o in sessions] == [
        dt.date(2025, 1, 6),
        dt.date(2025, 1, 9),
        dt.date(2025, 1, 20),
        dt.date(2025, 1, 23),
    ]


def test_skipped_dates_do_not_count_towards_the_number_of_sessions():
    sessions = recurrence.occurrences(
        rule(
            start_date=dt.date(2025, 12, 1),
            weekdays=frozenset({THU}),
            count=3,
            skip_dates=frozenset({dt.date(2025, 12, 25)}),
        )
    )
    assert [o.local_date for o in sessions] == [dt.date(2025, 12, 4), dt.date(2025, 12, 11), dt.date(2025, 12, 18)]
    sessions = recurrence.occurrences(
        rule(start_date=dt.date(2025, 12, 15), count=3, skip_dates=frozenset({dt.date(2025, 12, 25)}))
    )
    assert [o.local_date for o in sessions] == [dt.date(2025, 12, 18), dt.date(2026, 1, 1), dt.date(2026, 1, 8)]


def test_until_a_date_includes_that_date():
    sessions = recurrence.occurrences(rule(count=None, start_date=dt.date(2025, 1, 1), until=dt.date(2025, 1, 16)))
    assert [o.local_date for o in sessions] == [dt.date(2025, 1, 2), dt.date(2025, 1, 9), dt.date(2025, 1, 16)]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"weekdays": frozenset()}, "at least one day"),
        ({"count": 0}, "between 1 and 200"),
        ({"count": 201}, "between 1 and 200"),
        ({"count": None, "until": dt.date(2025, 2, 1)}, "before the start"),
        ({"count": None}, "either a number of sessions or an end date"),
        ({"until": dt.date(2025, 4, 1)}, "either a number of sessions or an end date"),
        ({"time_zone": "Mars/Olympus"}, "not a known time zone"),
        ({"duration_minutes": 0}, "between 15 and 720 minutes"),
        ({"interval_weeks": 3}, "weekly or fortnightly"),
    ],
)
def test_a_bad_rule_is_refused_with_a_message_saying_what_to_change(overrides, message):
    with pytest.raises(RecurrenceError) as caught:
        recurrence.occurrences(rule(**overrides))
    assert message in str(caught.value)


def test_an_until_rule_giving_more_than_200_sessions_is_refused():
    every_day = frozenset(range(7))
    with pytest.raises(RecurrenceError, match="more than 200"):
        recurrence.occurrences(rule(weekdays=every_day, count=None, until=dt.date(2026, 3, 1)))


def test_a_rule_that_gives_no_sessions_is_refused():
    with pytest.raises(RecurrenceError, match="no sessions"):
        recurrence.occurrences(
            rule(count=None, start_date=dt.date(2025, 3, 3), until=dt.date(2025, 3, 5), weekdays=frozenset({SUN}))
        )
