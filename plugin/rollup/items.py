"""The framework's items as the roll-up reads them: by code, and each competency's indicators."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.competencies.models import Framework, Item
from plugin.competencies.modules import report_scale_levels
from plugin.rollup.engine import RollupConfig, competency_level


class FrameworkItems:
    """The framework's items by code, and each competency's indicators, in item order."""

    def __init__(self, session: Session, framework: Framework) -> None:
        self.items: list[Item] = list(
            session.scalars(
                select(Item).where(Item.framework_id == framework.id).order_by(Item.position)
            )
        )
        self.by_code = {item.code: item for item in self.items}
        by_id = {item.id: item for item in self.items}
        self.parent: dict[str, str] = {}
        self.indicators: dict[str, list[str]] = {}
        for item in self.items:
            if item.kind == "competency":
                self.indicators.setdefault(item.code, [])
            elif item.parent_id is not None and item.parent_id in by_id:
                parent = by_id[item.parent_id].code
                self.parent[item.code] = parent
                self.indicators.setdefault(parent, []).append(item.code)
        self.scale_levels = report_scale_levels(session, framework) or 3
        self.position = {item.code: index for index, item in enumerate(self.items)}
        # The items other items roll up into (the competencies), and each item's own.
        self.tops = frozenset(self.indicators)
        self.top_of = {**self.parent, **{code: code for code in self.tops}}
        self._empty_levels: tuple[RollupConfig, dict[str, int]] | None = None

    def empty_levels(self, config: RollupConfig) -> dict[str, int]:
        """Each competency's level when neither it nor its indicators have evidence: 0,
        unless a points rule needs no points. Computed once per config."""
        if self._empty_levels is None or self._empty_levels[0] is not config:
            levels = {
                code: competency_level(
                    dict.fromkeys(self.indicators[code], 0), None, config, self.scale_levels
                )
                for code in self.tops
            }
            self._empty_levels = (config, levels)
        return self._empty_levels[1]

    def needed_for(self, affected: set[str]) -> set[str]:
        """The items whose evidence recomputing ``affected`` reads: them, the competencies
        above them, and those competencies' indicators."""
        needed = set(affected)
        for code in affected:
            top = self.top_of.get(code)
            if top is not None:
                needed.add(top)
                needed.update(self.indicators[top])
        return needed
