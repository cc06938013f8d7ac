"""A few helpers to write SVG as text (escaped, compact numbers); no drawing library needed."""

from __future__ import annotations

from html import escape


def num(value: float) -> str:
    """A coordinate with 0.1 px resolution, no trailing zeros."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def attrs(**items: object) -> str:
    """``key="value"`` pairs; ``class_`` -> ``class``, ``_`` -> ``-``; None is left out."""
    parts = []
    for key, value in items.items():
        if value is None:
            continue
        name = key.rstrip("_").replace("_", "-")
        if isinstance(value, float):
            value = num(value)
        parts.append(f'{name}="{escape(str(value), quote=True)}"')
    return " ".join(parts)


def line(x1: float, y1: float, x2: float, y2: float, **more: object) -> str:
    return f"<line {attrs(x1=x1, y1=y1, x2=x2, y2=y2, **more)}/>"


def rect(x: float, y: float, w: float, h: float, **more: object) -> str:
    return f"<rect {attrs(x=x, y=y, width=w, height=h, **more)}/>"


def text(x: float, y: float, content: str, **more: object) -> str:
    return f"<text {attrs(x=x, y=y, **more)}>{escape(content)}</text>"


def polyline(points: list[tuple[float, float]], **more: object) -> str:
    path = " ".join(f"{num(x)},{num(y)}" for x, y in points)
    return f"<polyline {attrs(points=path, **more)}/>"


def polygon(points: list[tuple[float, float]], **more: object) -> str:
    path = " ".join(f"{num(x)},{num(y)}" for x, y in points)
    return f"<polygon {attrs(points=path, **more)}/>"


def svg(width: float, height: float, body: list[str], title: str, **more: object) -> str:
    """A scalable SVG (viewBox) that screen readers announce as one image with ``title``."""
    head = attrs(
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {num(width)} {num(height)}",
        role="img",
        **more,
    )
    return f"<svg {head}><title>{escape(title)}</title>{''.join(body)}</svg>"
