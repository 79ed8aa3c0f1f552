"""Scoring: worked examples per instrument (arithmetic in the comments), primitives and edge cases."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.instruments.loading import load_all
from outcomes.instruments.scoring import (
    SCORING_VERSION,
    ScoreResult,
    ScoringInputError,
    band,
    lookup,
    mean,
    prorate,
    reverse,
    score,
    total_sum,
)
from outcomes.instruments.types import Band, BandScheme

DEFINITIONS = load_all()


def defn(code: str):
    return DEFINITIONS[(code, 1)]


def answers_from(values, prefix="q"):
    """[a, b, c] → {"q1": a, "q2": b, "q3": c}; None entries are left unanswered."""
    return {f"{prefix}{n}": v for n, v in enumerate(values, start=1) if v is not None}


# --------------------------------------------------------------------------- primitives


def test_reverse_maps_a_value_to_min_plus_max_minus_value():
    assert reverse(0, minimum=0, maximum=4) == 4
    assert reverse(1, minimum=0, maximum=4) == 3
    assert reverse(2, minimum=1, maximum=4) == 3  # 1 + 4 - 2


def test_sum_and_mean_of_values():
    assert total_sum([1, 2, 3]) == 6
    assert mean([1, 2, 3, 4]) == 2.5


def test_prorate_scales_the_mean_of_answered_items_to_all_items():
    assert prorate([2, 2, 2, 2, 2, 2, 2, 2], n_items=9) == 18  # mean 2 × 9


def test_prorate_and_mean_refuse_an_empty_list():
    with pytest.raises(ValueError):
        prorate([], n_items=9)
    with pytest.raises(ValueError):
        mean([])


def test_band_is_half_open_and_the_last_band_may_be_open_ended():
    scheme = BandScheme(name="s", source="test", bands=(Band(0, 5, "low"), Band(5, None, "high")))
    assert band(4.999, scheme) == "low"
    assert band(5, scheme) == "high"
    assert band(1000, scheme) == "high"
    assert band(-1, scheme) is None
    assert band(None, scheme) is None


def test_lookup_converts_whole_raw_scores_only():
    table = {7: 7.0, 8: 9.51}
    assert lookup(8, table) == 9.51
    assert lookup(8.0, table) == 9.51
    with pytest.raises(ValueError):
        lookup(7.5, table)
    with pytest.raises(ValueError):
        lookup(9, table)


# --------------------------------------------------------------------------- PHQ-9


@pytest.mark.parametrize(
    ("total", "label"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_severity_band_changes_exactly_at_the_published_boundaries(total, label):
    # Spread the total over the items (3s first), item 9 last so the risk rule stays quiet below 25.
    values = [min(3, max(0, total - 3 * i)) for i in range(9)]
    assert sum(values) == total
    result = score(defn("phq9"), answers_from(values))
    assert result.total == total
    assert result.bands["severity"] == label


def test_phq9_screen_is_positive_from_10():
    assert score(defn("phq9"), answers_from([3, 3, 3, 0, 0, 0, 0, 0, 0])).bands["screen"].startswith("below")
    # 3+3+3+1 = 10
    assert score(defn("phq9"), answers_from([3, 3, 3, 1, 0, 0, 0, 0, 0])).bands["screen"].startswith("screens positive")


def test_phq9_item_9_flags_risk_even_when_the_total_is_minimal():
    # Only item 9 answered "Several days" (1): total 1, "minimal", but the risk rule fires.
    result = score(defn("phq9"), answers_from([0, 0, 0, 0, 0, 0, 0, 0, 1]))
    assert result.total == 1
    assert result.bands["severity"] == "minimal"
    assert result.risk_flags == ("phq9_item9_nonzero",)


def test_phq9_without_item_9_raised_has_no_risk_flag():
    result = score(defn("phq9"), answers_from([3, 3, 3, 3, 3, 3, 3, 3, 0]))
    assert result.total == 24
    assert result.risk_flags == ()


def test_phq9_difficulty_question_is_never_added_in():
    answers = answers_from([1, 1, 1, 1, 1, 1, 1, 1, 0]) | {"difficulty": 3}
    result = score(defn("phq9"), answers)
    assert result.total == 8  # 8 × 1; the difficulty answer (3) is ignored
    assert result.n_answered == 9 and result.n_missing == 0


def test_phq9_difficulty_question_is_still_validated():
    with pytest.raises(ScoringInputError):
        score(defn("phq9"), answers_from([0] * 9) | {"difficulty": 4})


def test_phq9_two_missing_items_are_replaced_by_the_mean_of_the_answered_items():
    # NHS IAPT rule: 7 answered, 2 each → sum 14, mean 2; prorated 2 × 9 = 18.
    result = score(defn("phq9"), answers_from([2, 2, 2, 2, 2, 2, 2, None, None]))
    assert result.total == pytest.approx(18)
    assert result.prorated is True
    assert (result.n_answered, result.n_missing) == (7, 2)
    assert result.bands["severity"] == "moderately severe"  # 15 <= 18 < 20


def test_phq9_fractional_prorated_total_is_banded_without_rounding():
    # 8 answered summing 8 → 8 × 9 / 8 = 9.0 → "mild"; 8 answered summing 9 → 9 × 9 / 8 = 10.125 → "moderate".
    assert score(defn("phq9"), answers_from([1, 1, 1, 1, 1, 1, 1, 1, None])).bands["severity"] == "mild"
    result = score(defn("phq9"), answers_from([2, 1, 1, 1, 1, 1, 1, 1, None]))
    assert result.total == pytest.approx(10.125)
    assert result.bands["severity"] == "moderate"


def test_phq9_three_missing_items_give_no_score():
    result = score(defn("phq9"), answers_from([3, 3, 3, 3, 3, 3, None, None, None]))
    assert result.total is None
    assert result.bands == {"severity": None, "screen": None}
    assert result.prorated is False


# --------------------------------------------------------------------------- GAD-7


@pytest.mark.parametrize(
    ("total", "label"),
    [
        (0, "below the mild cut-off"),
        (4, "below the mild cut-off"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (15, "severe"),
    ],
)
def test_gad7_bands_at_cut_points_5_10_15(total, label):
    # Spitzer et al. 2006 name bands from 5 up only: below 5 the label says so, naming no band the paper does not.
    values = [min(3, max(0, total - 3 * i)) for i in range(7)]
    assert score(defn("gad7"), answers_from(values)).bands["severity"] == label


def test_gad7_with_one_missing_item_has_no_score_because_no_missing_rule_is_confirmed():
    assert score(defn("gad7"), answers_from([1, 1, 1, 1, 1, 1, None])).total is None


# --------------------------------------------------------------------------- CORE-10


def test_core10_reverses_items_2_and_3():
    # Items 2 and 3 answered "Most or all of the time" (4) score 4 - 4 = 0; the rest "Not at all" (0).
    assert score(defn("core10"), answers_from([0, 4, 4, 0, 0, 0, 0, 0, 0, 0])).total == 0
    # Items 2 and 3 answered "Not at all" (0) score 4 each: total 8.
    assert score(defn("core10"), answers_from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0])).total == 8


def test_core10_complete_clinical_score_is_the_item_sum():
    # q1..q10 = 1,2,2,1,1,0,3,2,2,1; q2, q3 reversed: 4-2 = 2, 4-2 = 2.
    # Scored: 1+2+2+1+1+0+3+2+2+1 = 15; clinical score = mean 1.5 × 10 = 15.
    result = score(defn("core10"), answers_from([1, 2, 2, 1, 1, 0, 3, 2, 2, 1]))
    assert result.total == 15
    assert result.bands["severity"] == "moderate"
    assert result.bands["clinical_cutoff"] == "clinical range"
    assert result.prorated is False


def test_core10_prorates_one_missing_item_as_10_times_sum_over_9():
    # q10 missing. Scored: q1 2, q2 4-1=3, q3 4-1=3, q4..q9 = 2,2,0,2,2,2 → sum 18.
    # Clinical score = 10 × 18 / 9 = 20.
    result = score(defn("core10"), answers_from([2, 1, 1, 2, 2, 0, 2, 2, 2, None]))
    assert result.total == pytest.approx(20)
    assert result.prorated is True
    assert result.n_missing == 1
    assert result.bands["severity"] == "moderate-to-severe"


def test_core10_prorated_score_is_not_rounded():
    # q10 missing, scored sum 17 → 10 × 17 / 9 = 18.888…
    result = score(defn("core10"), answers_from([1, 1, 1, 2, 2, 0, 2, 2, 2, None]))
    assert result.total == pytest.approx(170 / 9)


def test_core10_with_two_missing_items_has_no_score():
    result = score(defn("core10"), answers_from([2, 1, 1, 2, 2, 0, 2, 2, None, None]))
    assert result.total is None
    assert result.raw_total is None
    assert result.n_missing == 2


def test_core10_item_6_flags_risk_whatever_the_total():
    # Only item 6 "Only occasionally" (1); items 2 and 3 "Most or all of the time" reverse to 0. Total 1.
    result = score(defn("core10"), answers_from([0, 4, 4, 0, 0, 1, 0, 0, 0, 0]))
    assert result.total == 1
    assert result.bands["severity"] == "healthy/low"
    assert result.risk_flags == ("core10_item6_nonzero",)


def test_core10_risk_item_is_flagged_even_when_too_few_items_are_answered_to_score():
    result = score(defn("core10"), {"q6": 2})
    assert result.total is None
    assert result.risk_flags == ("core10_item6_nonzero",)


# --------------------------------------------------------------------------- GSE


def test_gse_with_seven_answers_is_the_mean_of_the_answered_items():
    # 4+3+2+4+3+2+3 = 21 over 7 answered → mean 3.0 (3 missing is the most allowed).
    result = score(defn("gse"), answers_from([4, 3, 2, 4, 3, 2, 3, None, None, None]))
    assert result.total == pytest.approx(3.0)
    assert result.prorated is True
    assert result.n_answered == 7


def test_gse_with_six_answers_has_no_score():
    assert score(defn("gse"), answers_from([4, 3, 2, 4, 3, 2, None, None, None, None])).total is None


def test_gse_complete_mean_times_ten_is_the_sum_score():
    # 3 × 10 items = 30 → mean 3.0
    result = score(defn("gse"), answers_from([3] * 10))
    assert result.total == 3.0
    assert result.bands == {}


# --------------------------------------------------------------------------- SWEMWBS


def test_swemwbs_raw_7_converts_to_metric_7():
    result = score(defn("swemwbs"), answers_from([1] * 7))
    assert result.raw_total == 7
    assert result.transformed_total == 7.00
    assert result.total == 7.00


def test_swemwbs_raw_29_converts_to_metric_26_02():
    # 5+5+5+5+3+3+3 = 29 → 26.02
    result = score(defn("swemwbs"), answers_from([5, 5, 5, 5, 3, 3, 3]))
    assert result.raw_total == 29
    assert result.total == 26.02


def test_swemwbs_is_not_prorated_before_the_lookup():
    result = score(defn("swemwbs"), answers_from([5, 5, 5, 5, 3, 3, None]))
    assert (result.raw_total, result.transformed_total, result.total) == (None, None, None)


# --------------------------------------------------------------------------- hope


def test_adult_state_hope_subscales_are_agency_2_4_6_and_pathways_1_3_5():
    # q1..q6 = 8,1,7,2,6,3 → pathways 8+7+6 = 21, agency 1+2+3 = 6, total 27.
    result = score(defn("state_hope"), answers_from([8, 1, 7, 2, 6, 3]))
    assert result.subscales == {"agency": 6, "pathways": 21}
    assert result.total == 27


def test_adult_state_hope_subscale_with_a_missing_item_has_no_score():
    result = score(defn("state_hope"), answers_from([8, 1, 7, 2, 6, None]))
    assert result.subscales["agency"] is None
    assert result.subscales["pathways"] == 21
    assert result.total is None


def test_hhi_reverses_items_3_and_6():
    # All 4s: ten items score 4, items 3 and 6 score 1 + 4 - 4 = 1 → 40 + 2 = 42.
    assert score(defn("hhi"), answers_from([4] * 12)).total == 42
    # All 1s: ten items score 1, items 3 and 6 score 4 → 10 + 8 = 18.
    assert score(defn("hhi"), answers_from([1] * 12)).total == 18


# --------------------------------------------------------------------------- our own measures


def test_acceptability_is_the_mean_of_answered_items_with_one_missing_allowed():
    keys = ["welcome", "listened_to", "safe_to_share", "helpful", "would_recommend"]
    # 5+4+4+5 = 18 over 4 answered → 4.5
    result = score(defn("acceptability"), dict(zip(keys[:4], [5, 4, 4, 5], strict=True)))
    assert result.total == pytest.approx(4.5)
    assert score(defn("acceptability"), dict(zip(keys[:3], [5, 4, 4], strict=True))).total is None


def test_service_use_counts_are_reported_separately_and_summed():
    result = score(defn("service_use"), {"crisis_contacts": 3, "inpatient_admissions": 1})
    assert result.subscales == {"crisis_contacts": 3, "inpatient_admissions": 1}
    assert result.total == 4
    assert defn("service_use").higher_is_better is False


def test_service_use_refuses_counts_outside_0_to_99_and_fractions():
    for value in (-1, 100, 2.5):
        with pytest.raises(ScoringInputError, match="whole number from 0 to 99"):
            score(defn("service_use"), {"crisis_contacts": value, "inpatient_admissions": 0})


# --------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("key", sorted(DEFINITIONS), ids=lambda k: f"{k[0]}@{k[1]}")
def test_all_missing_gives_none_never_zero(key):
    result = score(DEFINITIONS[key], {})
    assert result.total is None
    assert result.raw_total is None
    assert all(value is None for value in result.subscales.values())
    assert all(label is None for label in result.bands.values())
    assert result.n_answered == 0
    assert result.n_missing == len(DEFINITIONS[key].scored_items)
    assert result.risk_flags == ()


def test_none_values_count_as_missing():
    assert score(defn("phq9"), dict.fromkeys([f"q{n}" for n in range(1, 10)])).n_missing == 9


def test_out_of_range_value_raises_scoring_input_error_naming_the_question():
    with pytest.raises(ScoringInputError, match="question 2; choose one of 0, 1, 2, 3") as info:
        score(defn("phq9"), {"q2": 4})
    assert info.value.item_key == "q2"
    assert info.value.value == 4


@pytest.mark.parametrize("value", ["2", True, [1], {"a": 1}, object()])
def test_wrong_type_raises_scoring_input_error(value):
    with pytest.raises(ScoringInputError, match="must be a number"):
        score(defn("phq9"), {"q1": value})


@pytest.mark.parametrize("value", [math.nan, math.inf, 1.5])
def test_non_option_floats_raise_scoring_input_error(value):
    with pytest.raises(ScoringInputError, match="not an allowed answer"):
        score(defn("phq9"), {"q1": value})


def test_a_float_equal_to_an_option_value_is_accepted():
    assert score(defn("gad7"), answers_from([1.0, 1, 1, 1, 1, 1, 1])).total == 7


def test_unknown_item_key_raises_scoring_input_error():
    with pytest.raises(ScoringInputError, match="'q10' is not a question"):
        score(defn("phq9"), {"q10": 1})


def test_answers_that_are_not_a_mapping_raise_scoring_input_error():
    with pytest.raises(ScoringInputError):
        score(defn("phq9"), [("q1", 1)])  # type: ignore[arg-type]


def test_result_records_the_scoring_version_and_instrument():
    result = score(defn("gad7"), answers_from([0] * 7))
    assert isinstance(result, ScoreResult)
    assert result.scoring_version == SCORING_VERSION
    assert (result.code, result.version) == ("gad7", 1)


# --------------------------------------------------------------------------- property test

_values = st.one_of(
    st.none(),
    st.integers(min_value=-5, max_value=105),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=3),
    st.lists(st.integers(), max_size=2),
    st.decimals(allow_nan=False, allow_infinity=False),
)


@st.composite
def _definition_and_answers(draw):
    key = draw(st.sampled_from(sorted(DEFINITIONS)))
    definition = DEFINITIONS[key]
    item_keys = [item.key for item in definition.items]
    keys = st.one_of(st.sampled_from(item_keys), st.text(max_size=6), st.integers())
    answers = draw(st.dictionaries(keys, _values, max_size=len(item_keys) + 2))
    return definition, answers


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_definition_and_answers())
def test_score_returns_a_result_or_raises_scoring_input_error_for_any_answers(case):
    definition, answers = case
    try:
        result = score(definition, answers)
    except ScoringInputError:
        return
    assert isinstance(result, ScoreResult)
    assert result.n_answered + result.n_missing == len(definition.scored_items)
    if result.total is not None:
        low, high = definition.score.range.minimum, definition.score.range.maximum
        if definition.lookup is not None:
            low, high = definition.lookup.table[low], definition.lookup.table[high]
        assert low - 1e-9 <= result.total <= high + 1e-9


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_valid_answers_always_score_within_the_declared_range(data):
    definition = DEFINITIONS[data.draw(st.sampled_from(sorted(DEFINITIONS)))]
    answers = {}
    for item in definition.items:
        if item.options.integer_range is not None:
            low, high = item.options.integer_range
            answers[item.key] = data.draw(st.one_of(st.none(), st.integers(low, high)))
        else:
            answers[item.key] = data.draw(st.one_of(st.none(), st.sampled_from(sorted(item.options.values))))
    result = score(definition, answers)
    if result.raw_total is not None:
        assert definition.score.range.minimum - 1e-9 <= result.raw_total <= definition.score.range.maximum + 1e-9
    for subscale in definition.subscales:
        value = result.subscales[subscale.name]
        if value is not None:
            assert subscale.rule.range.minimum <= value <= subscale.rule.range.maximum
