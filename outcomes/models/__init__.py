"""The outcomes app's models, in one module per part (questionnaires, evaluation, exports) and re-exported
here, so ``outcomes.models.X``, the migrations and the app label stay as they were."""

from .evaluation import (
    ChangeSummary,
    CohortDimension,
    CohortState,
    ComparisonSummary,
    FlowSummary,
    GroupComparisonSet,
    GroupData,
    GroupDataChange,
    OutcomeSummary,
    ReliableChangeBaseline,
)
from .exports import OrganisationSecret, new_pseudonym_key
from .questionnaires import (
    Anchor,
    Assessment,
    AssessmentStatus,
    InstrumentText,
    MeasurementPlan,
    PlanInstrument,
    PlanTimePoint,
    PrimaryOutcome,
    Response,
    ResponseSource,
    RiskAlert,
    RiskAlertStatus,
    TimePoint,
)

__all__ = [
    "Anchor",
    "Assessment",
    "AssessmentStatus",
    "ChangeSummary",
    "CohortDimension",
    "CohortState",
    "ComparisonSummary",
    "FlowSummary",
    "GroupComparisonSet",
    "GroupData",
    "GroupDataChange",
    "InstrumentText",
    "MeasurementPlan",
    "OrganisationSecret",
    "OutcomeSummary",
    "PlanInstrument",
    "PlanTimePoint",
    "PrimaryOutcome",
    "ReliableChangeBaseline",
    "Response",
    "ResponseSource",
    "RiskAlert",
    "RiskAlertStatus",
    "TimePoint",
    "new_pseudonym_key",
]
