"""The body diagram's geometry: front and back outlines of a figure, one shape per region.

Pure data and functions, no drawing library: pdf.py and html.py scale the same polygons. A
view is 64 units wide (x from -32 to 32, 0 the midline, negative on the viewer's left) and 200
units tall (y down, 0 the top of the head, 200 the soles). The shapes tile the figure, so drawn
together they are its outline.

Left and right are the client's own: on the front view the client's right is on the viewer's
left, on the back view on the viewer's right (labelled "R" and "L" by the renderers). Every
region of `catalog.REGIONS` has a shape on the front view, the back view or both: the chest,
abdomen and jaw only in front; the upper, mid and lower back and the gluteals only behind; the
head, neck and the limbs on both.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from medmassage.rules.catalog import REGIONS

VIEW_W = 64.0
VIEW_H = 200.0
VIEWS = ("front", "back")

Point = tuple[float, float]


class Shape(NamedTuple):
    region: str
    view: str  # "front" or "back"
    points: tuple[Point, ...]  # a closed polygon, in view units


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 32) -> list[Point]:
    return [
        (cx + rx * math.cos(2 * math.pi * i / n), cy + ry * math.sin(2 * math.pi * i / n))
        for i in range(n)
    ]


# The client's RIGHT side as seen from the FRONT (on the viewer's left, x < 0); the left side
# is its mirror, and the back view mirrors the sides again.
_HEAD = _ellipse(0, 13, 9.5, 12.5)
_NECK = [(-4.6, 23.8), (4.6, 23.8), (5.6, 32.0), (-5.6, 32.0)]
_RIGHT_FRONT: dict[str, list[Point]] = {
    "jaw": [
        (-9.45, 12.5),
        (-9.0, 17.0),
        (-7.0, 21.5),
        (-4.1, 24.3),
        (-1.2, 25.4),
        (-1.2, 23.0),
        (-4.2, 21.2),
        (-6.2, 17.5),
        (-7.0, 12.5),
    ],
    "shoulder": [
        (-5.6, 32.0),
        (-14.0, 32.4),
        (-20.0, 33.8),
        (-23.6, 37.0),
        (-25.4, 41.0),
        (-25.8, 45.0),
        (-18.2, 45.0),
        (-16.4, 40.5),
        (-10.5, 37.2),
        (-5.6, 35.2),
    ],
    "arm": [
        (-18.2, 45.0),
        (-25.8, 45.0),
        (-26.8, 52.0),
        (-27.4, 62.0),
        (-27.8, 71.0),
        (-21.8, 71.0),
        (-20.6, 62.0),
        (-19.0, 53.0),
    ],
    "forearm": [
        (-21.8, 71.0),
        (-27.8, 71.0),
        (-28.8, 78.0),
        (-29.0, 87.0),
        (-28.6, 96.0),
        (-24.4, 96.0),
        (-23.2, 87.0),
        (-22.2, 78.0),
    ],
    "wrist-hand": [
        (-24.4, 96.0),
        (-28.6, 96.0),
        (-30.2, 101.0),
        (-30.8, 107.0),
        (-30.0, 112.0),
        (-28.0, 115.6),
        (-25.8, 115.0),
        (-24.6, 110.5),
        (-23.4, 104.5),
        (-23.4, 100.0),
    ],
    "hip": [
        (-13.4, 80.0),
        (-10.0, 88.0),
        (-6.0, 96.6),
        (0.0, 99.0),
        (0.0, 103.0),
        (-9.0, 104.2),
        (-18.0, 103.0),
        (-17.6, 95.0),
        (-15.8, 87.0),
    ],
    "thigh": [
        (-18.0, 103.0),
        (-9.0, 104.2),
        (0.0, 103.0),
        (-1.2, 110.0),
        (-3.2, 124.0),
        (-4.8, 139.0),
        (-13.8, 139.0),
        (-15.4, 126.0),
        (-17.2, 114.0),
    ],
    "knee": [
        (-13.8, 139.0),
        (-4.8, 139.0),
        (-4.4, 143.0),
        (-4.6, 148.0),
        (-5.2, 152.0),
        (-13.2, 152.0),
        (-14.0, 148.0),
        (-14.1, 143.0),
    ],
    "leg": [
        (-13.2, 152.0),
        (-5.2, 152.0),
        (-4.8, 158.0),
        (-5.2, 167.0),
        (-6.0, 177.0),
        (-6.6, 186.0),
        (-10.6, 186.0),
        (-11.4, 177.0),
        (-13.0, 168.0),
        (-14.0, 160.0),
    ],
    "foot": [
        (-10.6, 186.0),
        (-6.6, 186.0),
        (-5.4, 191.0),
        (-4.0, 196.0),
        (-4.6, 199.2),
        (-8.4, 200.0),
        (-12.4, 199.2),
        (-12.6, 195.0),
        (-11.6, 190.0),
    ],
}
# Behind, the hip is the side of the pelvis beside the gluteal.
_RIGHT_BACK: dict[str, list[Point]] = {
    **{k: v for k, v in _RIGHT_FRONT.items() if k not in ("jaw", "hip", "thigh")},
    "hip": [(-13.4, 80.0), (-15.8, 87.0), (-17.6, 95.0), (-18.0, 103.0), (-15.0, 103.0),
            (-14.2, 95.0), (-13.2, 86.4)],
    "gluteal": [(0.0, 88.0), (-13.2, 86.4), (-14.2, 95.0), (-15.0, 103.0), (-9.0, 105.4),
                (0.0, 103.0)],
    "thigh": [
        (-18.0, 103.0), (-15.0, 103.0), (-9.0, 105.4), (0.0, 103.0), (-1.2, 110.0),
        (-3.2, 124.0), (-4.8, 139.0), (-13.8, 139.0), (-15.4, 126.0), (-17.2, 114.0),
    ],
}  # fmt: skip
# The torso's top, neck to armpit, on the viewer's right; the polygons add its mirror.
_TORSO_SIDE = [(5.6, 35.2), (10.5, 37.2), (16.4, 40.5), (18.2, 45.0), (17.2, 52.0)]


def _torso_top(bottom: float, bottom_x: float) -> list[Point]:
    """Neck base, the viewer's right side down to `bottom`, across, and back up the left."""
    return [
        (-5.6, 32.0), (5.6, 32.0), *_TORSO_SIDE, (bottom_x, bottom), (-bottom_x, bottom),
        *[(-x, y) for x, y in reversed(_TORSO_SIDE)],
    ]  # fmt: skip


_MIDLINE_FRONT: dict[str, list[Point]] = {
    "chest": _torso_top(62.0, 15.6),
    "abdomen": [
        (-15.6, 62.0), (15.6, 62.0), (13.8, 71.0), (13.4, 80.0), (10.0, 88.0), (6.0, 96.6),
        (0.0, 99.0), (-6.0, 96.6), (-10.0, 88.0), (-13.4, 80.0), (-13.8, 71.0),
    ],
}  # fmt: skip
_MIDLINE_BACK: dict[str, list[Point]] = {
    "upper-back": _torso_top(56.0, 16.2),
    "mid-back": [(-16.2, 56.0), (16.2, 56.0), (15.0, 63.0), (13.8, 71.0), (-13.8, 71.0),
                 (-15.0, 63.0)],
    "lower-back": [(-13.8, 71.0), (13.8, 71.0), (13.4, 80.0), (13.2, 86.4), (0.0, 88.0),
                   (-13.2, 86.4), (-13.4, 80.0)],
}  # fmt: skip


def _mirror(points: list[Point]) -> tuple[Point, ...]:
    return tuple((-x, y) for x, y in points)


def _shapes() -> tuple[Shape, ...]:
    out: list[Shape] = []
    for view, sided, midline in (
        ("front", _RIGHT_FRONT, _MIDLINE_FRONT),
        ("back", _RIGHT_BACK, _MIDLINE_BACK),
    ):
        out.append(Shape("head", view, tuple(_HEAD)))
        out.append(Shape("neck", view, tuple(_NECK)))
        for region, points in midline.items():
            out.append(Shape(region, view, tuple(points)))
        for part, points in sided.items():
            right = tuple(points) if view == "front" else _mirror(points)
            left = _mirror(points) if view == "front" else tuple(points)
            out.append(Shape(f"{part}-right", view, right))
            out.append(Shape(f"{part}-left", view, left))
    return tuple(out)


SHAPES: tuple[Shape, ...] = _shapes()


def shapes(view: str) -> list[Shape]:
    """The shapes of one view, in drawing order (the head first, the jaw over it)."""
    found = [s for s in SHAPES if s.view == view]
    return sorted(found, key=lambda s: s.region.startswith("jaw"))


def views_of(region: str) -> list[str]:
    return [v for v in VIEWS if any(s.region == region and s.view == v for s in SHAPES)]


def region_label(region: str) -> str:
    """'shoulder-left' → 'left shoulder', 'upper-back' → 'upper back'."""
    for side in ("left", "right"):
        if region.endswith(f"-{side}"):
            part = region[: -len(side) - 1].replace("wrist-hand", "wrist/hand")
            return f"{side} {part.replace('-', ' ')}"
    return region.replace("-", " ")


# Head to foot, the trunk before the limbs, right before left (as a note lists them).
_READING = [
    "head", "jaw", "neck", "shoulder", "chest", "upper-back", "mid-back", "abdomen",
    "lower-back", "arm", "forearm", "wrist-hand", "hip", "gluteal", "thigh", "knee", "leg",
    "foot",
]  # fmt: skip
_PLACE = {
    name: i
    for i, name in enumerate(
        r for part in _READING for r in (part, f"{part}-right", f"{part}-left") if r in REGIONS
    )
}


def in_order(regions: list[str]) -> list[str]:
    """Each region once, head to foot (unknown names last, as given)."""
    place = _PLACE
    unique = list(dict.fromkeys(regions))
    return sorted(unique, key=lambda r: place.get(r, len(place)))


class Comparison(NamedTuple):
    """The regions treated set beside those ordered."""

    treated: list[str]
    ordered: list[str]
    both: list[str]  # treated and ordered
    not_ordered: list[str]  # treated but not ordered
    not_treated: list[str]  # ordered but not treated


def compare(treated: list[str], ordered: list[str]) -> Comparison:
    t, o = in_order(treated), in_order(ordered)
    return Comparison(
        t,
        o,
        [r for r in t if r in o],
        [r for r in t if r not in o],
        [r for r in o if r not in t],
    )


def names(regions: list[str], empty: str = "none") -> str:
    return ", ".join(region_label(r) for r in regions) or empty


def lists(treated: list[str], ordered: list[str]) -> list[tuple[str, str]]:
    """The comparison in words, as every format prints it beside (or instead of) the figure."""
    c = compare(treated, ordered)
    return [
        ("Treated and ordered", names(c.both)),
        ("Treated but not ordered", names(c.not_ordered)),
        (
            "Ordered but not treated",
            names(c.not_treated, "none" if c.ordered else "no areas named"),
        ),
    ]


def alt_text(treated: list[str], ordered: list[str]) -> str:
    """What a screen reader says for the figure: every region, in words."""
    c = compare(treated, ordered)
    return (
        "Body diagram, front and back views. "
        f"Regions treated in the period (shaded): {names(c.treated)}. "
        f"Regions ordered (dashed outline): {names(c.ordered, 'none named')}. "
        f"Treated but not ordered: {names(c.not_ordered)}. "
        f"Ordered but not treated: {names(c.not_treated)}."
    )
