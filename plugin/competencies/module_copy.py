"""Copying a module into an organisation's own catalog (the national catalog is read-only)."""

from __future__ import annotations

import copy

from sqlalchemy.orm import Session

from plugin.competencies.models import DESIGNER_ORIGIN, CheckItem, Framework, Module, ModuleTag
from plugin.competencies.modules import module_iri, new_module_key
from plugin.core.db import utcnow


def copy_module(
    session: Session, module: Module, organisation_id: int, framework: Framework, iri_base: str
) -> Module:
    """A new module of ``organisation_id`` with ``module``'s texts, content, knowledge check,
    class and active tags, under a new key and activity IRI.

    The copy starts its own history: retired tag versions stay with the original, whose
    evidence they explain, and statements about the copy name the copy's IRI.
    """
    key = new_module_key()
    now = utcnow()
    duplicate = Module(
        key=key,
        origin=DESIGNER_ORIGIN,
        organisation_id=organisation_id,
        activity_iri=module_iri(iri_base, framework.key, key),
        class_id=module.class_id,
        title_zh=module.title_zh,
        title_en=module.title_en,
        description_zh=module.description_zh,
        description_en=module.description_en,
        hours=module.hours,
        content_markdown_zh=module.content_markdown_zh,
        content_markdown_en=module.content_markdown_en,
        content_html_zh=module.content_html_zh,
        content_html_en=module.content_html_en,
        external_url=module.external_url,
        external_display=module.external_display,
        mastery_score=module.mastery_score,
    )
    duplicate.check_items = [
        CheckItem(
            position=item.position,
            prompt_zh=item.prompt_zh,
            prompt_en=item.prompt_en,
            multiple=item.multiple,
            # The choices' keys are kept: they are the copy's own from now on.
            choices=copy.deepcopy(item.choices),
        )
        for item in module.check_items
    ]
    duplicate.tags = [
        ModuleTag(item_id=tag.item_id, level=tag.level, weight=tag.weight, created_at=now)
        for tag in module.active_tags
    ]
    session.add(duplicate)
    session.flush()
    return duplicate
