"""IRIs the statements use: ADL verbs as cmi5 uses them, activity types, extensions."""

from __future__ import annotations

ADL_VERBS = "http://adlnet.gov/expapi/verbs/"

# verb key: (IRI, English display, zh-TW display)
VERBS: dict[str, tuple[str, str, str]] = {
    "launched": (ADL_VERBS + "launched", "launched", "開啟"),
    "initialized": (ADL_VERBS + "initialized", "initialized", "開始"),
    "progressed": (ADL_VERBS + "progressed", "progressed", "進度更新"),
    "answered": (ADL_VERBS + "answered", "answered", "作答"),
    "completed": (ADL_VERBS + "completed", "completed", "完成"),
    "passed": (ADL_VERBS + "passed", "passed", "通過"),
    "failed": (ADL_VERBS + "failed", "failed", "未通過"),
    "terminated": (ADL_VERBS + "terminated", "terminated", "結束"),
    # ADL's xAPI SCORM profile §5 (temporal model): a SCORM attempt left part-way and taken up
    # again, on the same registration.
    "suspended": (ADL_VERBS + "suspended", "suspended", "暫停"),
    "resumed": (ADL_VERBS + "resumed", "resumed", "繼續"),
}

# xAPI 1.0.3 §2.4.8: the one verb an LRS treats specially, voiding an earlier statement.
VOIDED = ADL_VERBS + "voided"

MODULE_TYPE = "http://adlnet.gov/expapi/activities/module"
COURSE_TYPE = "http://adlnet.gov/expapi/activities/course"
LINK_TYPE = "http://adlnet.gov/expapi/activities/link"
INTERACTION_TYPE = "http://adlnet.gov/expapi/activities/cmi.interaction"
COMPETENCY_TYPE = "https://w3id.org/xapi/tla/activity-types/competency"
PROFILE_TYPE = "http://adlnet.gov/expapi/activities/profile"
# ADL's xAPI SCORM profile: in the category of statements made from a SCORM attempt.
SCORM_PROFILE = "https://w3id.org/xapi/scorm"

# cmi5 §9.6.2.2 / §9.7.2: progress as an integer percentage in a result extension.
PROGRESS_EXTENSION = "https://w3id.org/xapi/cmi5/result/extensions/progress"
# cmi5 §9.6.3.1: the AU's masteryScore travels with passed/failed.
MASTERY_EXTENSION = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore"

# cmi5 §9.6.2.1 / §9.6.2.2: the categories of "cmi5 defined" statements and of those that carry
# success or completion; §9.6.3.1: the LMS's session id in every AU statement's context.
CMI5_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/cmi5"
MOVEON_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/moveon"
SESSION_EXTENSION = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"


def profile_iri(iri_base: str) -> str:
    """The tool's statement profile, in every statement's ``category``."""
    return f"{iri_base}profile/v1"
