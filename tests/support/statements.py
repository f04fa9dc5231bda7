"""What the statement builders are given in the xAPI tests: a learner's context at C4-T5
(two tagged items) and one answered check item."""

from __future__ import annotations

from plugin.xapi.statements import Answer, LearnerContext, TaggedItem

TAGS = (
    TaggedItem("https://w3id.org/tw-civil-service-dc/tw-civil-service-dc/DC4-K2", "DC4-K2",
               "數位風險", "Digital risk"),
    TaggedItem("https://w3id.org/tw-civil-service-dc/tw-civil-service-dc/AT1", "AT1", "信任",
               "Trust"),
)  # fmt: skip
LEARNER = LearnerContext(
    issuer="https://lms.example.gov.tw",
    sub="learner-7",
    module_iri="https://w3id.org/tw-civil-service-dc/tw-civil-service-dc/modules/C4-T5",
    module_name_zh="生成式AI的風險管理與應用規範",
    module_name_en="Generative AI: risk management and rules of use",
    iri_base="https://w3id.org/tw-civil-service-dc/",
    tags=TAGS,
    context_id="course 101",
    context_title="數位職能入門",
    resource_link_id="link-1",
    resource_link_title="數位安全基礎",
    platform="Moodle",
    person_name="王小明",
    mastery_score=0.8,
)
ANSWER = Answer(
    item_id=12,
    prompt_zh="可以把含個資的陳情內容貼到公開 AI 服務嗎？",
    prompt_en="May a petition with personal data go into a public AI service?",
    response=["a", "c"],
    correct=True,
    correct_responses=["a", "c"],
    choices=(("a", "先去識別化", "De-identify first"), ("b", "可以", "Yes"),
             ("c", "用核可工具", "Use an approved tool")),
)  # fmt: skip
