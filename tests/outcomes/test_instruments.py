"""Instrument files: every shipped file loads and scores over its declared range; broken files are refused."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from outcomes.checks import check_instrument_definitions
from outcomes.instruments.loading import DEFAULT_INSTRUMENTS_DIR, definition_files, load_all, load_definition
from outcomes.instruments.scoring import score
from outcomes.instruments.types import (
    LICENSEE_TEXT_MODES,
    InstrumentDefinition,
    InstrumentDefinitionError,
    definition_text_complete,
)

SHIPPED_FILES = definition_files(DEFAULT_INSTRUMENTS_DIR)
FULL_TEXT = {"phq9", "gad7", "core10", "acceptability", "service_use"}
STRUCTURE_ONLY = {"qpr15", "hhi", "state_hope", "gse", "wemwbs", "swemwbs"}


def _extreme_answers(defn: InstrumentDefinition, *, lowest: bool) -> dict[str, int | float]:
    """Answers that give every scored item its lowest (or highest) contribution, reverse keying included."""
    answers = {}
    for item in defn.scored_items:
        want_low_raw = lowest != item.reverse
        answers[item.key] = item.options.minimum if want_low_raw else item.options.maximum
    return answers


# --------------------------------------------------------------------------- shipped files


def test_every_planned_instrument_is_shipped():
    assert {path.stem for path in SHIPPED_FILES} == {f"{code}@1" for code in FULL_TEXT | STRUCTURE_ONLY}


@pytest.mark.parametrize("path", SHIPPED_FILES, ids=lambda p: p.name)
def test_shipped_file_loads(path):
    defn = load_definition(path)
    assert path.name == f"{defn.code}@{defn.version}.json"
    assert defn.filename == path.name


def test_load_all_keys_definitions_by_code_and_version():
    definitions = load_all()
    assert ("phq9", 1) in definitions
    assert definitions[("phq9", 1)].title.startswith("Patient Health Questionnaire")
    assert len(definitions) == len(SHIPPED_FILES)


def test_load_all_returns_cached_definitions():
    assert load_all()[("gad7", 1)] is load_all()[("gad7", 1)]


def test_definitions_are_frozen():
    defn = load_all()[("phq9", 1)]
    with pytest.raises(AttributeError):
        defn.code = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        defn.option_sets["frequency"] = None  # type: ignore[index]


@pytest.mark.parametrize("path", SHIPPED_FILES, ids=lambda p: p.name)
def test_all_minimum_answers_give_the_declared_minimum_and_all_maximum_the_declared_maximum(path):
    defn = load_definition(path)
    low = score(defn, _extreme_answers(defn, lowest=True))
    high = score(defn, _extreme_answers(defn, lowest=False))
    assert low.raw_total == defn.score.range.minimum
    assert high.raw_total == defn.score.range.maximum
    if defn.lookup is not None:
        assert low.total == defn.lookup.table[defn.score.range.minimum]
        assert high.total == defn.lookup.table[defn.score.range.maximum]
    else:
        assert (low.total, high.total) == (low.raw_total, high.raw_total)
    for subscale in defn.subscales:
        assert low.subscales[subscale.name] == subscale.rule.range.minimum, subscale.name
        assert high.subscales[subscale.name] == subscale.rule.range.maximum, subscale.name
    assert low.n_missing == high.n_missing == 0
    assert not low.prorated and not high.prorated


@pytest.mark.parametrize("path", SHIPPED_FILES, ids=lambda p: p.name)
def test_every_band_scheme_labels_the_declared_minimum_and_maximum(path):
    defn = load_definition(path)
    low = score(defn, _extreme_answers(defn, lowest=True))
    high = score(defn, _extreme_answers(defn, lowest=False))
    for scheme in defn.bands:
        assert low.bands[scheme.name] is not None
        assert high.bands[scheme.name] is not None


@pytest.mark.parametrize("path", SHIPPED_FILES, ids=lambda p: p.name)
def test_licensed_instruments_ship_no_item_text(path):
    defn = load_definition(path)
    if defn.licence.mode not in LICENSEE_TEXT_MODES and defn.code not in STRUCTURE_ONLY:
        return
    assert defn.instructions is None
    assert defn.stem is None
    assert all(item.text is None for item in defn.items)
    assert all(option.label is None for item in defn.items for option in item.options.choices)
    assert not defn.translations
    assert defn.text_source.source is None
    assert not definition_text_complete(defn)


@pytest.mark.parametrize("code", sorted(FULL_TEXT))
def test_full_text_instruments_say_where_their_wording_came_from(code):
    defn = load_all()[(code, 1)]
    assert definition_text_complete(defn)
    assert defn.text_source.source
    assert defn.licence.mode in {"public_domain", "cc_by_nd"}


def test_copied_wording_comes_from_camcops():
    for code in ("phq9", "gad7", "core10"):
        source = load_all()[(code, 1)].text_source.source
        assert "camcops" in source and f"extra_strings/{code}.xml" in source


def test_risk_items_are_declared_for_phq9_and_core10():
    assert [(r.item, r.operator, r.value) for r in load_all()[("phq9", 1)].risk_rules] == [("q9", "gt", 0)]
    assert [(r.item, r.operator, r.value) for r in load_all()[("core10", 1)].risk_rules] == [("q6", "gt", 0)]


def test_unconfirmed_missing_data_rules_fall_back_to_no_prorating_and_say_so():
    for code in ("gad7", "qpr15", "hhi", "state_hope", "wemwbs", "swemwbs"):
        defn = load_all()[(code, 1)]
        assert (defn.missing.max_missing, defn.missing.prorate) == (0, False), code
        assert any("unconfirmed" in note for note in defn.notes), code


# --------------------------------------------------------------------------- broken files


def _valid_data() -> dict:
    return json.loads((DEFAULT_INSTRUMENTS_DIR / "phq9@1.json").read_text(encoding="utf-8"))


def _write(tmp_path: Path, data, name: str = "phq9@1.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _error_for(path: Path) -> InstrumentDefinitionError:
    with pytest.raises(InstrumentDefinitionError) as info:
        load_definition(path)
    return info.value


def test_a_copy_of_a_valid_file_loads(tmp_path):
    assert load_definition(_write(tmp_path, _valid_data())).code == "phq9"


def test_missing_field_is_reported_with_file_and_field(tmp_path):
    data = _valid_data()
    del data["items"][3]["options"]
    error = _error_for(_write(tmp_path, data))
    assert "phq9@1.json: items[3].options: required field is missing" in str(error)
    assert error.filename == "phq9@1.json"
    assert error.field == "items[3].options"


def test_missing_top_level_field_is_reported(tmp_path):
    data = _valid_data()
    del data["licence"]
    assert "phq9@1.json: licence: required field is missing" in str(_error_for(_write(tmp_path, data)))


def test_wrong_type_is_reported_with_file_and_field(tmp_path):
    data = _valid_data()
    data["items"][2]["reverse"] = "yes"
    assert "phq9@1.json: items[2].reverse: 'yes' is not of type 'boolean'" in str(_error_for(_write(tmp_path, data)))


def test_non_numeric_option_value_is_reported(tmp_path):
    data = _valid_data()
    data["option_sets"]["frequency"][1]["value"] = "1"
    assert "phq9@1.json: option_sets.frequency" in str(_error_for(_write(tmp_path, data)))


def test_unknown_field_is_reported(tmp_path):
    data = _valid_data()
    data["items"][0]["reversed"] = True
    assert "phq9@1.json: items[0].reversed: unknown field" in str(_error_for(_write(tmp_path, data)))


def test_duplicate_item_key_is_reported(tmp_path):
    data = _valid_data()
    data["items"][4]["key"] = "q1"
    error = _error_for(_write(tmp_path, data))
    assert "phq9@1.json: items[4].key: duplicate item key 'q1'" in str(error)


def test_duplicate_json_key_is_reported(tmp_path):
    text = json.dumps(_valid_data()).replace('"title":', '"title": "first", "title":', 1)
    assert "phq9@1.json: title: key 'title' is given more than once" in str(_error_for(_write(tmp_path, text)))


def test_unknown_subscale_item_is_reported(tmp_path):
    data = _valid_data()
    data["subscales"] = {"somatic": {"items": ["q3", "q99"], "method": "sum", "range": {"min": 0, "max": 6}}}
    error = _error_for(_write(tmp_path, data))
    assert "phq9@1.json: subscales.somatic.items[1]: unknown item key 'q99'" in str(error)


def test_filler_in_a_subscale_is_reported(tmp_path):
    data = _valid_data()
    data["subscales"] = {"somatic": {"items": ["q3", "difficulty"], "method": "sum", "range": {"min": 0, "max": 6}}}
    assert "subscales.somatic.items[1]: item 'difficulty' is not scored" in str(_error_for(_write(tmp_path, data)))


def test_overlapping_bands_are_reported(tmp_path):
    data = _valid_data()
    data["bands"]["severity"]["ranges"][2]["min"] = 9  # mild is 5 <= x < 10
    error = _error_for(_write(tmp_path, data))
    assert "phq9@1.json: bands.severity.ranges[2].min: band 'moderate' overlaps" in str(error)


def test_bands_out_of_order_are_reported(tmp_path):
    data = _valid_data()
    ranges = data["bands"]["severity"]["ranges"]
    ranges[0], ranges[1] = ranges[1], ranges[0]
    assert "phq9@1.json: bands.severity.ranges[1].min" in str(_error_for(_write(tmp_path, data)))


def test_open_ended_band_before_the_last_is_reported(tmp_path):
    data = _valid_data()
    data["bands"]["severity"]["ranges"][1]["max"] = None
    assert "bands.severity.ranges[1].max: only the last band may be open-ended" in str(
        _error_for(_write(tmp_path, data))
    )


def test_file_name_that_does_not_match_code_and_version_is_reported(tmp_path):
    error = _error_for(_write(tmp_path, _valid_data(), name="phq9@2.json"))
    assert "phq9@2.json: code: file name must be 'phq9@1.json'" in str(error)


def test_malformed_json_is_reported_with_file_and_position(tmp_path):
    error = _error_for(_write(tmp_path, '{"code": "phq9", "version": 1,,}'))
    assert str(error).startswith("phq9@1.json: (JSON syntax): line 1 column")


def test_nan_is_not_accepted_as_a_number(tmp_path):
    text = json.dumps(_valid_data()).replace('"value": 0', '"value": NaN', 1)
    assert "phq9@1.json: (JSON syntax): NaN is not a valid JSON number" in str(_error_for(_write(tmp_path, text)))


def test_unknown_risk_rule_item_is_reported(tmp_path):
    data = _valid_data()
    data["risk_rules"][0]["item"] = "q10"
    assert "phq9@1.json: risk_rules[0].item: unknown item key 'q10'" in str(_error_for(_write(tmp_path, data)))


def test_unknown_option_set_is_reported(tmp_path):
    data = _valid_data()
    data["items"][3]["options"] = "frequncy"
    assert "phq9@1.json: items[3].options: unknown option set 'frequncy'" in str(_error_for(_write(tmp_path, data)))


def test_reverse_item_with_asymmetric_options_is_reported(tmp_path):
    data = _valid_data()
    data["items"][0]["reverse"] = True
    data["items"][0]["options"] = [{"value": 0, "label": "a"}, {"value": 1, "label": "b"}, {"value": 5, "label": "c"}]
    assert "phq9@1.json: items[0].options: a reverse-scored item needs numeric options" in str(
        _error_for(_write(tmp_path, data))
    )


def test_allowing_missing_answers_without_prorating_is_reported(tmp_path):
    data = _valid_data()
    data["missing"]["prorate"] = False
    assert "phq9@1.json: missing.prorate: must be true when max_missing > 0" in str(_error_for(_write(tmp_path, data)))


def test_licensed_text_in_a_registration_required_file_is_reported(tmp_path):
    data = json.loads((DEFAULT_INSTRUMENTS_DIR / "wemwbs@1.json").read_text(encoding="utf-8"))
    data["items"][0]["text"] = "Some wording"
    error = _error_for(_write(tmp_path, data, name="wemwbs@1.json"))
    assert "wemwbs@1.json: items[0].text: licence mode 'registration_required'" in str(error)


def _swemwbs_data() -> dict:
    return json.loads((DEFAULT_INSTRUMENTS_DIR / "swemwbs@1.json").read_text(encoding="utf-8"))


def test_lookup_table_with_a_gap_is_reported(tmp_path):
    data = _swemwbs_data()
    del data["lookup"]["table"]["20"]
    error = _error_for(_write(tmp_path, data, name="swemwbs@1.json"))
    assert "swemwbs@1.json: lookup.table: does not cover raw scores [20]" in str(error)


def test_lookup_table_with_prorating_is_reported(tmp_path):
    data = _swemwbs_data()
    data["missing"] = {"max_missing": 1, "prorate": True}
    assert "swemwbs@1.json: lookup: a lookup table is only defined for complete raw sums" in str(
        _error_for(_write(tmp_path, data, name="swemwbs@1.json"))
    )


def test_every_problem_in_a_file_is_listed(tmp_path):
    data = _valid_data()
    data["items"][4]["key"] = "q1"
    data["risk_rules"][0]["item"] = "nope"
    error = _error_for(_write(tmp_path, data))
    assert [field for field, _ in error.problems] == ["items[4].key", "risk_rules[0].item"]


def test_a_broken_file_makes_load_all_fail_rather_than_load_part_of_the_set(tmp_path):
    _write(tmp_path, _valid_data())
    broken = copy.deepcopy(_valid_data())
    broken["code"] = "gad7"
    broken["items"][1]["key"] = "q1"
    _write(tmp_path, broken, name="gad7@1.json")
    with pytest.raises(InstrumentDefinitionError, match=r"gad7@1\.json: items\[1\]\.key"):
        load_all(tmp_path)


# --------------------------------------------------------------------------- system check


def test_system_check_passes_for_the_shipped_files():
    assert check_instrument_definitions(None) == []


def test_system_check_reports_each_broken_file_with_file_and_field(tmp_path):
    _write(tmp_path, _valid_data())
    broken = _valid_data()
    broken["items"][3]["options"] = 7
    _write(tmp_path, broken, name="gad7@1.json")  # also a name/code mismatch
    _write(tmp_path, "{not json", name="core10@1.json")
    with override_settings(OUTCOMES_INSTRUMENTS_DIR=str(tmp_path)):
        errors = [e for e in run_checks() if e.id == "outcomes.E001"]
    messages = sorted(e.msg for e in errors)
    assert len(errors) == 2
    assert "core10@1.json: (JSON syntax)" in messages[0]
    assert "gad7@1.json: items[3].options" in messages[1]
    assert all(e.is_serious() for e in errors)


def test_system_check_reports_a_missing_instrument_folder(tmp_path):
    with override_settings(OUTCOMES_INSTRUMENTS_DIR=str(tmp_path / "nowhere")):
        errors = check_instrument_definitions(None)
    assert [e.id for e in errors] == ["outcomes.E001"]
