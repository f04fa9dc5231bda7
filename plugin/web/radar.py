"""The competency map's radar chart as SVG shapes computed on the server: the page needs no
script to draw it, and the table beside it carries the same numbers for screen readers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH = 520
HEIGHT = 440
CENTRE_X = WIDTH / 2
CENTRE_Y = HEIGHT / 2 + 6
RADIUS = 125
# Axis names go on short lines: at spaces for English, every 7 characters for Chinese.
CJK_LINE = 7
LATIN_LINE = 16
LINE_HEIGHT = 16
LABEL_OUTSIDE = 0.22


@dataclass(frozen=True)
class RadarAxis:
    """One competency: its attained level, its mean indicator level and its target."""

    code: str
    name: str
    level: int
    mean: float
    target: int | None


@dataclass(frozen=True)
class RadarLabel:
    """An axis label: where it sits, how it is anchored, and its lines."""

    x: str
    y: str
    anchor: str
    code: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class RadarRing:
    """A level's ring and its name."""

    points: str
    label: str
    x: str
    y: str


@dataclass
class Radar:
    """Everything the template draws, in SVG user units."""

    width: int
    height: int
    rings: list[RadarRing] = field(default_factory=list)
    spokes: list[tuple[str, str]] = field(default_factory=list)
    labels: list[RadarLabel] = field(default_factory=list)
    mean: str = ""
    level: str = ""
    target: str = ""
    dots: list[tuple[str, str]] = field(default_factory=list)

    @property
    def centre(self) -> tuple[str, str]:
        """The chart's centre, where the spokes start."""
        return _number(CENTRE_X), _number(CENTRE_Y)


def _number(value: float) -> str:
    return f"{value:.1f}"


def _point(index: int, count: int, value: float, top: int) -> tuple[float, float]:
    # The first axis points up; the others follow clockwise at equal angles.
    angle = -math.pi / 2 + 2 * math.pi * index / count
    radius = RADIUS * value / top
    return CENTRE_X + radius * math.cos(angle), CENTRE_Y + radius * math.sin(angle)


def _points(values: Sequence[float], top: int) -> str:
    return " ".join(
        ",".join(_number(n) for n in _point(index, len(values), value, top))
        for index, value in enumerate(values)
    )


def _wrap(text: str) -> tuple[str, ...]:
    if " " not in text:
        return tuple(text[i : i + CJK_LINE] for i in range(0, len(text), CJK_LINE))
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        if line and len(f"{line} {word}") > LATIN_LINE:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return tuple(lines)


def radar_chart(axes: Sequence[RadarAxis], top: int, level_names: dict[int, str]) -> Radar | None:
    """The radar's shapes for ``axes`` on a scale of 0–``top``; None below three axes."""
    count = len(axes)
    if count < 3 or top < 1:
        return None
    chart = Radar(width=WIDTH, height=HEIGHT)
    for ring in range(1, top + 1):
        # A ring's name sits halfway along its first edge, clear of the top axis label.
        first, second = _point(0, count, ring, top), _point(1, count, ring, top)
        chart.rings.append(
            RadarRing(
                points=_points([ring] * count, top),
                label=level_names.get(ring, str(ring)),
                x=_number((first[0] + second[0]) / 2 + 3),
                y=_number((first[1] + second[1]) / 2),
            )
        )
    for index, axis in enumerate(axes):
        end = _point(index, count, top, top)
        chart.spokes.append((_number(end[0]), _number(end[1])))
        x, y = _point(index, count, top + LABEL_OUTSIDE, top)
        lines = _wrap(axis.name)
        anchor = "middle" if abs(x - CENTRE_X) < 8 else ("start" if x > CENTRE_X else "end")
        if y < CENTRE_Y - RADIUS / 2:  # labels above the chart grow upwards
            y -= LINE_HEIGHT * len(lines)
        chart.labels.append(RadarLabel(_number(x), _number(y), anchor, axis.code, lines))
    chart.mean = _points([axis.mean for axis in axes], top)
    chart.level = _points([axis.level for axis in axes], top)
    if any(axis.target is not None for axis in axes):
        chart.target = _points([axis.target or 0 for axis in axes], top)
    for index, axis in enumerate(axes):
        x, y = _point(index, count, axis.mean, top)
        chart.dots.append((_number(x), _number(y)))
    return chart
