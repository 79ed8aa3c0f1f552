from django import template

from outcomes.evaluation import presentation
from outcomes.instruments import registry
from outcomes.models import AssessmentStatus
from outcomes.questionnaires.lifecycle import assessments_refresh_for_member
from outcomes.questionnaires.risk import open_alerts_for
from outcomes.questionnaires.selectors import assessments_for_member

register = template.Library()


@register.filter
def get_item(mapping, key):
    """``mapping[key]`` in a template, or None."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def instrument_title(code: str, version: int | None = None) -> str:
    """An instrument's title (its newest version's when ``version`` is not given) for a person to read; the code
    itself only for an instrument that is not installed."""
    try:
        return (registry.get(code, version) if version is not None else registry.latest(code)).title
    except LookupError:
        return code


@register.inclusion_tag("outcomes/_member_questionnaires.html", takes_context=True)
def member_questionnaires(context, organisation):
    """The member's open questionnaires, for their dashboard: brought to what the clock says first (a
    questionnaire whose window opened since the last job run is open here), as the questionnaire pages do."""
    user = context["request"].user
    assessments_refresh_for_member(user, organisation)
    open_ones = [a for a in assessments_for_member(user, organisation) if a.status == AssessmentStatus.OPEN]
    return {"organisation": organisation, "open_assessments": open_ones}


@register.inclusion_tag("outcomes/_staff_alerts.html", takes_context=True)
def staff_alerts(context, organisation):
    """Unacknowledged risk alerts of a facilitator's groups (a lead: all); shown until acknowledged."""
    user = context["request"].user
    alerts = list(open_alerts_for(user, organisation)[:20])
    return {
        "organisation": organisation,
        "alerts": alerts,
        "live": [alert for alert in alerts if not alert.historical],
        "historical": [alert for alert in alerts if alert.historical],
    }


@register.simple_tag
def figure(value, k, places=None):
    """``{% figure value k 2 %}``: the number to ``places`` decimals, "—", or why disclosure control hid it."""
    return presentation.figure(value, k, places)


@register.simple_tag
def p_value(value, k):
    """``{% p_value p k %}``: "< 0.001" below 0.001, else three decimals; or why it is hidden."""
    return presentation.p_value(value, k)


@register.filter
def hidden_reason(value):
    """``"small"``, ``"complementary"`` or None (shown)."""
    return presentation.hidden_reason(value)


@register.simple_tag
def hidden_why(reason, k):
    """``{% hidden_why reason k %}``: the words for a reason ``hidden_reason`` gave."""
    return presentation.hidden_text(reason, k)
