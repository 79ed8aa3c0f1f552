"""The data dictionary: every column of every export, every instrument item, and the notes a reader needs."""

from __future__ import annotations

from outcomes.evaluation.disclosure.hidden import Hidden
from outcomes.evaluation.report import DESIGN, DESIGN_NOTE
from outcomes.evaluation.summary import (
    ATTRITION_COLUMNS,
    CHANGE_COLUMNS,
    COMPARISON_COLUMNS,
    FLOW_COLUMNS,
    FLOW_REASONS,
    META_COLUMNS,
    OUTCOME_COLUMNS,
)
from outcomes.instruments import registry
from outcomes.instruments.types import LICENSEE_TEXT_MODES, InstrumentDefinition, Item
from outcomes.models import TimePoint

from .items import ITEM_COLUMNS
from .pseudonyms import PSEUDONYM_LENGTH

DICTIONARY_COLUMNS = (
    "section", "export", "column", "instrument", "instrument_version", "title", "item_key", "item_number",
    "scored", "reverse", "required", "option_values", "option_labels", "licence_mode", "description",
)  # fmt: skip

TIME_POINTS = ", ".join(TimePoint.values)

_COHORT = {
    "cohort_dimension": "What the cohort groups together: organisation, curriculum (all versions), group, format, "
    "curriculum_kind, delivery, audience, or period (the groups that started in a span of calendar quarters, "
    "asked for by a lead).",
    "cohort_value": "Which one: the group id, the curriculum family id, the format/delivery/audience/kind code "
    "(empty for the whole organisation), or for a period its first and last quarter, e.g. 2026Q1-2026Q2. A group "
    "starts at its first session that was not cancelled, in the group's time zone (the day it was created if it "
    "has no sessions). Periods overlap each other and the organisation: their figures are protected together "
    "with every other cohort's.",
    "cohort_label": "A readable name of the cohort (group name, curriculum title).",
}
_SUPPRESSED = (
    " When hidden, written “suppressed (<k)” (about fewer than k people), “suppressed (complementary)” (hidden so "
    "that such a figure cannot be worked out by subtraction) or, for a mean, SD, median or quartile, “suppressed "
    "(reveals scores)” (see notes)."
)


def hidden_labels(k: int) -> list[dict]:
    """The rows of the summary workbook's About sheet that say, in plain words, what each hidden cell's text means."""
    return [
        {"item": "suppression_threshold_k", "value": k},
        {
            "item": str(Hidden.small(k)),
            "value": f"This figure is about fewer than {k} people (it may be none), so it is not shown: a figure "
            "about so few people could tell who they are.",
        },
        {
            "item": str(Hidden.complementary(k)),
            "value": f"This figure is about {k} or more people and would be safe on its own. It is hidden because, "
            "added to or subtracted from the figures that are shown, it would give away a figure about fewer "
            f"than {k} people.",
        },
        {
            "item": str(Hidden.reveals_scores(k)),
            "value": "The people are enough, but their scores are all the same, or the same for all but one "
            "person: the average, spread, median and quartiles would tell each person's score, so they are "
            "hidden (the number of people is still shown).",
        },
    ]


_OUTCOME = {
    "table": "Which table the row belongs to: outcome, change, flow, comparison or attrition (summary CSV only).",
    "instrument": "Instrument code (see the item rows below).",
    "scale": "“total” or a subscale name.",
    "time_point": f"When it was measured: {TIME_POINTS}.",
    "n": "People with a score at this time point (all available data, not only completers)." + _SUPPRESSED,
    "mean": "Mean score. Full precision; round when presenting." + _SUPPRESSED,
    "sd": "Standard deviation (n − 1 denominator)." + _SUPPRESSED,
    "median": "Median." + _SUPPRESSED,
    "q1": "First quartile (numpy/R type 7 linear interpolation)." + _SUPPRESSED,
    "q3": "Third quartile (numpy/R type 7 linear interpolation)." + _SUPPRESSED,
    "ci_low": "Outcome rows: lower end of the 95% t-interval of the mean. Change rows: of the mean change. Empty, "
    "not estimable, when every value is the same (never an interval of zero width)." + _SUPPRESSED,
    "ci_high": "Outcome rows: upper end of the 95% t-interval of the mean. Change rows: of the mean change."
    + _SUPPRESSED,
}
_CHANGE = {
    "from_time_point": "Earlier time point of the pair (baseline).",
    "to_time_point": "Later time point of the pair.",
    "higher_is_better": "true when a higher score means better, so a positive change is an improvement.",
    "n_pairs": "Completers: people with a score at both time points. Paired statistics use only them." + _SUPPRESSED,
    "mean_change": "Mean of (later − earlier), raw: its sign is not flipped for instruments where lower is better."
    + _SUPPRESSED,
    "sd_change": "SD of the differences (n − 1)." + _SUPPRESSED,
    "t": "Change rows: paired t statistic, df = n_pairs − 1. Comparison rows: pooled two-sample t statistic "
    "(side a minus side b), df = n_a + n_b − 2; empty when supports_conclusion is false." + _SUPPRESSED,
    "p": "Change rows: two-sided p of the paired t-test. Comparison rows: two-sided p of the pooled two-sample "
    "t-test (scipy.stats.ttest_ind), ignoring clustering; empty when supports_conclusion is false." + _SUPPRESSED,
    "p_wilcoxon": "Two-sided p of the Wilcoxon signed-rank test (zero differences dropped)." + _SUPPRESSED,
    "wilcoxon_method": "exact, permutation or asymptotic: how p_wilcoxon was computed." + _SUPPRESSED,
    "d_z": "Mean change / SD of change (Lakens 2013); sign of raw change. For power calculations: it grows with "
    "r_pre_post, so do not compare it with a between-group d." + _SUPPRESSED,
    "d_z_ci_low": "Lower 95% limit of d_z (exact, noncentral t); empty when not estimable (every change the same)."
    + _SUPPRESSED,
    "d_z_ci_high": "Upper 95% limit of d_z." + _SUPPRESSED,
    "d_av": "Mean change / mean of the two SDs (Lakens 2013)." + _SUPPRESSED,
    "g_av": "d_av × Hedges' J (approximate)." + _SUPPRESSED,
    "g_av_ci_low": "Lower 95% limit for the population d_av that g_av estimates (Algina & Keselman 2003 noncentral "
    "t; simulated coverage 0.94–0.96 from 10 pairs, docs/statistics.md §3); empty when not estimable." + _SUPPRESSED,
    "g_av_ci_high": "Upper 95% limit of g_av." + _SUPPRESSED,
    "d_rm": "Mean change / S_within, S_within = SD of change / √(2(1 − r_pre_post)) (Lakens 2013)." + _SUPPRESSED,
    "g_rm": "d_rm × Hedges' J (approximate): the within-group effect to pool in a meta-analysis." + _SUPPRESSED,
    "g_rm_ci_low": "g_rm − 1.96·√V_g with Borenstein et al.'s (2009) pre–post variance V_g = J²·(1/n + d_rm²/(2n))·"
    "2(1 − r). It treats r as known and is too narrow when r is high: use it as meta-analytic input." + _SUPPRESSED,
    "g_rm_ci_high": "g_rm + 1.96·√V_g." + _SUPPRESSED,
    "r_pre_post": "Pearson correlation of the completers' earlier and later scores." + _SUPPRESSED,
    "improved": "Reliably improved (Jacobson & Truax RCI beyond ±1.96 in the better direction), recovered included. "
    "improved + unchanged + deteriorated = n_pairs." + _SUPPRESSED,
    "unchanged": "No reliable change." + _SUPPRESSED,
    "deteriorated": "Reliably worse." + _SUPPRESSED,
    "recovered": "Of the improved, those who also crossed the cut-off c; empty when the instrument has no norms "
    "for c." + _SUPPRESSED,
    "rci_sd_pre": "SD₁ used for the RCI." + _SUPPRESSED,
    "rci_sd_source": "Where SD₁ came from: clinical norm (published, in the instrument file) or organisation "
    "baseline (the organisation's baseline SD, frozen when the instrument version was first used; the same in "
    "every table).",
    "rci_sd_reference": "The clinical norm's source, or how the organisation's baseline SD was set (frozen from n "
    "baseline scores, or set by a lead).",
    "rci_sd_set_at": "When the organisation's baseline SD took this value; empty for a clinical norm.",
    "rci_reliability": "Reliability r_xx used for the RCI, from the instrument file.",
    "rci_reliability_kind": "test-retest or alpha.",
    "rci_reliability_source": "The published source of r_xx (the instrument file's citation).",
    "outcome_role": "primary (the change from baseline its groups' plans name as the primary outcome, named by a lead "
    "with a timestamp) or secondary (everything else).",
    "primary_note": "For the primary outcome: when it was named, whether after a follow-up had opened, and any earlier "
    "choice it replaced; for a cohort without one, why.",
    "p_holm": "Holm-adjusted p of a secondary outcome, over every secondary p-value of this report that is shown "
    "(with its effect size and interval), cohorts of the same people left out. Empty for the primary outcome.",
    "same_people_as": "The cohort shown earlier that has exactly the same people: this row is that cohort's, not an "
    "extra test.",
    "rci_cutoff": "Cut-off c (Jacobson & Truax weighted midpoint), from published norms.",
}
_FLOW = {
    "enrolled": "Memberships that were ever active in the cohort's groups." + _SUPPRESSED,
    "started": "Enrolled who attended at least one session." + _SUPPRESSED,
    "completed_group": "Enrolled whose membership is completed." + _SUPPRESSED,
    "withdrawn": "Enrolled who left the group." + _SUPPRESSED,
    **{
        f"withdrawn_{reason}": f"Withdrawn giving the reason “{reason}”; the reasons add up to withdrawn." + _SUPPRESSED
        for reason in FLOW_REASONS
    },
    **{f"assessed_{tp}": f"Members with the {tp} assessment completed." + _SUPPRESSED for tp in TimePoint.values},
    "dose_n": "Enrolled members whose group has offered sessions (the denominator of the dose figures)." + _SUPPRESSED,
    "dose_median": "Median share of offered sessions attended (0–1; cancelled sessions excluded)." + _SUPPRESSED,
    "dose_q1": "First quartile of that share." + _SUPPRESSED,
    "dose_q3": "Third quartile of that share." + _SUPPRESSED,
    "dose_share_half": "Share (0–1) of dose_n attending at least half the sessions offered." + _SUPPRESSED,
}
_COMPARISON_LEFT_OUT = (
    " Comparison rows are listed only when both sides have at least k members and n_a and n_a + n_b equal the "
    "n_pairs shown in the change rows of side a's cohort and of the organisation; otherwise the whole comparison "
    "is left out (see notes)."
)
_COMPARISON = {
    "kind": "Comparison rows: format (structured groups vs unstructured groups) or group (one group vs the "
    "organisation's other groups). The cohort columns name the organisation the comparison was computed in.",
    "a_dimension": "Comparison rows: the cohort dimension of side a: format or group.",
    "a_value": "Comparison rows: which cohort side a is: “structured”, or the group id (the cohort_value of that "
    "group's rows).",
    "a_label": "Comparison rows: a readable name of side a (“Structured groups”, or the group's name).",
    "b_label": "Comparison rows: a readable name of side b (“Unstructured groups” or “Other groups”: the "
    "organisation's members in change not in side a).",
    "n_a": "Comparison rows: members of side a with scores at both time points (the n_pairs of side a's cohort)."
    + _COMPARISON_LEFT_OUT,
    "n_b": "Comparison rows: members of side b with scores at both time points (the organisation's n_pairs − n_a)."
    + _COMPARISON_LEFT_OUT,
    "mean_a": "Comparison rows: mean raw change (later − earlier) of side a.",
    "mean_b": "Comparison rows: mean raw change (later − earlier) of side b.",
    "sd_a": "Comparison rows: SD of the change of side a (n − 1).",
    "sd_b": "Comparison rows: SD of the change of side b (n − 1).",
    "g": "Comparison rows: Hedges' g of the difference in change, side a minus side b (pooled SD; J with "
    "df = n_a + n_b − 2). Raw change: for instruments where lower is better, a negative g means side a improved "
    "more.",
    "g_ci_low": "Comparison rows: lower 95% limit of g (Borenstein et al. 2009 variance of g).",
    "g_ci_high": "Comparison rows: upper 95% limit of g.",
    "groups_a": "Comparison rows: groups with members in side a's analysis (1 for one group against the rest).",
    "groups_b": "Comparison rows: groups with members in side b's analysis.",
    "ancova_difference": "Comparison rows: side a − side b in the later score, adjusted for the earlier score "
    "(ANCOVA: least squares of later score on side and earlier score), raw points (statistics.md §9).",
    "ancova_ci_low": "Comparison rows: lower 95% limit of ancova_difference (t, residual df).",
    "ancova_ci_high": "Comparison rows: upper 95% limit of ancova_difference.",
    "ancova_p": "Comparison rows: two-sided p of ancova_difference; empty when supports_conclusion is false.",
    "mixed_difference": "Comparison rows: the same difference from a linear mixed model with a random intercept per "
    "group (statsmodels MixedLM, REML), so members of one group may resemble each other. Empty for one group "
    "against the rest (its group effect and the difference cannot be told apart).",
    "mixed_ci_low": "Comparison rows: lower 95% limit of mixed_difference (normal, Wald).",
    "mixed_ci_high": "Comparison rows: upper 95% limit of mixed_difference.",
    "mixed_p": "Comparison rows: two-sided p of mixed_difference; empty when supports_conclusion is false.",
    "icc": "Comparison rows: intra-class correlation τ²/(τ² + σ²) of the mixed model (for one group against the "
    "rest: of the model of later score on earlier score over all the organisation's groups).",
    "design_effect": "Comparison rows: 1 + (m − 1)·icc, m the mean number of analysed members per group: how much "
    "clustering inflates the variance of a mean.",
    "supports_conclusion": "Comparison rows: True only with at least 5 groups on each side and a converged mixed "
    "model; otherwise the comparison cannot support a conclusion and no p-value is given.",
    "conclusion_note": "Comparison rows: why the comparison cannot support a conclusion (empty when it can).",
}
_ATTRITION = {
    "with_baseline": "Attrition rows: members with a valid baseline score (the baseline n of the outcome rows).",
    "with_score": "Attrition rows: members with a valid score at time_point (that time point's n).",
    "attrition_enrolled": "Attrition rows: lost against enrolled, 1 − with_score / enrolled (0–1).",
    "attrition_baseline": "Attrition rows: lost against baseline, 1 − with_score / with_baseline; negative when "
    "people who missed baseline came back.",
    "n_completers": "Attrition rows: members with a baseline score and one at time_point (the change's n_pairs).",
    "mean_completers": "Attrition rows: the completers' mean baseline score.",
    "sd_completers": "Attrition rows: the completers' baseline SD (n − 1).",
    "n_non_completers": "Attrition rows: members with a baseline score and none at time_point." + _SUPPRESSED,
    "mean_non_completers": "Attrition rows: the non-completers' mean baseline score." + _SUPPRESSED,
    "sd_non_completers": "Attrition rows: the non-completers' baseline SD (n − 1)." + _SUPPRESSED,
    "smd": "Attrition rows: (completers' − non-completers' mean baseline) / pooled SD: far from 0, those who "
    "stayed started differently." + _SUPPRESSED,
    "smd_ci_low": "Attrition rows: lower 95% limit of smd, smd − 1.96·√V, V = (n₁ + n₂)/(n₁n₂) + smd²/(2(n₁ + n₂))."
    + _SUPPRESSED,
    "smd_ci_high": "Attrition rows: upper 95% limit of smd." + _SUPPRESSED,
    "completers_mean_change": "Attrition rows: the completers' mean change baseline → time_point.",
    "mi_mean_change": "Attrition rows, primary outcome of the organisation only: mean change under missing at "
    "random (multiple imputation by chained equations, Rubin's rules; statistics.md §11). A sensitivity "
    "analysis beside completers_mean_change, not a replacement.",
    "mi_ci_low": "Attrition rows: lower 95% limit of mi_mean_change (Barnard–Rubin df).",
    "mi_ci_high": "Attrition rows: upper 95% limit of mi_mean_change.",
    "mi_fraction_missing": "Attrition rows: fraction of missing information γ of the imputation.",
    "mi_n": "Attrition rows: members in the imputation (a score at baseline or at time_point).",
    "mi_imputations": "Attrition rows: number of imputed data sets m.",
    "mi_seed": "Attrition rows: the random seed, so the figure can be reproduced.",
}
_META = {
    **{f"n_{tp}": f"n at {tp} (all available data)." + _SUPPRESSED for tp in TimePoint.values},
    **{f"mean_{tp}": f"Mean at {tp}." + _SUPPRESSED for tp in TimePoint.values},
    **{f"sd_{tp}": f"SD at {tp} (n − 1)." + _SUPPRESSED for tp in TimePoint.values},
}
for _tp in TimePoint.values:
    _META[f"n_pairs_baseline_{_tp}"] = f"Completers with baseline and {_tp} scores." + _SUPPRESSED
    _META[f"mean_change_baseline_{_tp}"] = f"Mean raw change baseline → {_tp} ({_tp} − baseline)." + _SUPPRESSED
    _META[f"sd_change_baseline_{_tp}"] = "SD of the change (n − 1)." + _SUPPRESSED
    _META[f"r_pre_post_baseline_{_tp}"] = (
        "Pre–post correlation: what a meta-analyst needs for the variance of a pre–post d." + _SUPPRESSED
    )
_ITEMS = {
    "participant": f"Pseudonymous id: HMAC-SHA256, under this organisation's secret key, of this download's random "
    f"nonce, the group and the member's user id; first {PSEUDONYM_LENGTH} hex characters. Within one group of one "
    "download a person's answers at every time point share the id; the same person has another id in another "
    "group and in every other download, so rows cannot be joined across groups or downloads. It cannot be "
    "reversed without the key, which never leaves the platform.",
    "group_id": "Id of the group the answer was given in (the same as cohort_value of its group cohort).",
    "group_format": "structured or unstructured.",
    "curriculum_kind": "self_management, anti_stigma or other; empty for groups without a curriculum.",
    "delivery": "in_person, online, telephone or blended.",
    "time_point": f"{TIME_POINTS}.",
    "instrument": "Instrument code.",
    "instrument_version": "Version of the instrument file the answer was given on.",
    "item_key": "Item key (stable: never changes once answers exist).",
    "item_number": "Item number as printed on the questionnaire; empty if the instrument file is no longer installed.",
    "value": "The answer's numeric value, as stored: before reverse-scoring.",
    "source": "online (answered on the platform) or import (entered from paper or another system).",
}

_DESIGN = (
    f"“{DESIGN}” on every row: within-group change is change in the people who stayed, not an effect of the "
    "group (no comparison group; it includes regression to the mean). See the first note."
)

NOTES = (
    f"Design: {DESIGN}. {DESIGN_NOTE} A controlled evaluation needs a comparison group measured at the same times "
    "(ideally allocated at random) and a primary outcome named in advance; within-group p-values are given only "
    "beside the effect size and its interval.",
    "Suppression: a figure describing fewer than k people is written “suppressed (<k)”; k is the organisation's "
    "setting, stated on the export page and in the workbook. Zero counts are shown (a zero hidden beside a small "
    "count is written “suppressed (<k)” too). Further figures are hidden so that no hidden figure can be worked "
    "out by subtraction, within a row (a total minus its shown parts) or across cohorts (the organisation minus "
    "its other groups): those are written “suppressed (complementary)”, and each is about k or more people. "
    "Statistics follow their n: when an n is hidden, so are the mean, SD and the rest of that row, for the same "
    "reason. A mean, SD, median or quartile of scores that are all equal, or equal for all but one person, would "
    "tell each person's score: it is written “suppressed (reveals scores)” while its n is shown.",
    "Comparisons (table “comparison”, sheet “Comparisons”) compare change between structured and unstructured "
    "groups, and between each group and the organisation's other groups. A comparison is published only when "
    "both sides have at least k members and its counts equal figures already shown in the change rows (side a's "
    "cohort and the organisation), so it adds nothing that could reveal a hidden figure; any other comparison is "
    "left out whole, as on the evaluation page.",
    "Consent withdrawal stops new questionnaires being collected from that member; the answers they gave before "
    "withdrawing remain in the item-level export and in the summary figures.",
    "The item-level export holds no names, e-mail addresses or user ids, but it is still personal data "
    "(pseudonymised): keep it as securely as the platform does and do not try to re-identify anyone. Person-level "
    "rule: ids are per group and per download (not the same across groups, nor from one download to the next); "
    "no dates, only the time point; and a group's answers to a questionnaire at a time point are left out when "
    "fewer than k people gave them.",
    "Text cells that begin with =, +, -, @, tab or carriage return are prefixed with a single quote (') so that "
    "spreadsheet programs do not run them as formulas. Numbers are written as numbers.",
    "Files are UTF-8 CSV with a header row, comma-separated, quoted where needed. Numbers are not rounded.",
    "Licensed instruments: item wording and option labels are not exported; option values are.",
)


def _values(item: Item) -> str:
    options = item.options
    if options.integer_range is not None:
        return f"{options.integer_range[0]}–{options.integer_range[1]} (whole numbers)"
    return "; ".join(f"{option.value:g}" for option in options.choices)


def _labels(item: Item, defn: InstrumentDefinition) -> str:
    if defn.licence.mode in LICENSEE_TEXT_MODES:
        return ""
    return "; ".join(f"{option.value:g} = {option.label}" for option in item.options.choices if option.label)


def _column_rows(export: str, columns, descriptions: dict) -> list[dict]:
    every = {**_COHORT, **_OUTCOME, **_CHANGE, **_FLOW, **_COMPARISON, **_ATTRITION, **_META, **_ITEMS}
    return [
        {"section": "column", "export": export, "column": name, "description": descriptions.get(name, every.get(name))}
        for name in columns
    ]


def dictionary_rows() -> list[dict]:
    """Notes, then every column of every export, then every item of every installed instrument."""
    rows = [{"section": "note", "description": note} for note in NOTES]
    rows += _column_rows("summary", ("table", *OUTCOME_COLUMNS), {})
    rows += _column_rows("summary", [c for c in CHANGE_COLUMNS if c not in OUTCOME_COLUMNS], {})
    rows += _column_rows("summary", [c for c in FLOW_COLUMNS if c not in OUTCOME_COLUMNS], {})
    earlier = {*OUTCOME_COLUMNS, *CHANGE_COLUMNS, *FLOW_COLUMNS}
    rows += _column_rows("summary", [c for c in COMPARISON_COLUMNS if c not in earlier], {})
    earlier |= set(COMPARISON_COLUMNS)
    rows += _column_rows("summary", [c for c in ATTRITION_COLUMNS if c not in earlier], {})
    rows += _column_rows("summary", ("design",), {"design": _DESIGN})
    rows += _column_rows("meta_analysis", (*META_COLUMNS, "design"), {"design": _DESIGN})
    rows += _column_rows("items", ITEM_COLUMNS, {})
    for (_code, _version), defn in sorted(registry.installed().items()):
        for item in defn.items:
            rows.append(
                {
                    "section": "item",
                    "export": "items",
                    "instrument": defn.code,
                    "instrument_version": defn.version,
                    "title": defn.title,
                    "item_key": item.key,
                    "item_number": item.number,
                    "scored": "scored" if item.scored else "filler",
                    "reverse": item.reverse,
                    "required": item.required,
                    "option_values": _values(item),
                    "option_labels": _labels(item, defn),
                    "licence_mode": defn.licence.mode,
                    "description": f"Domain: {defn.domain}. Higher is {'better' if defn.higher_is_better else 'worse'}."
                    f" Licence: {defn.licence.note}",
                }
            )
    return rows
