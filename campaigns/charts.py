"""A grouped bar chart of report rates as inline SVG, so no chart library is needed."""

from django.utils.html import escape

from campaigns.reports import VariantReport

WIDTH = 560
HEIGHT = 220
MARGIN = 30
SERIES = (
    ("open rate", "#4c78a8"),
    ("click rate", "#f58518"),
    ("conversion", "#54a24b"),
)


def rates(row: VariantReport) -> tuple[float, float, float]:
    sent = row.sent or 0
    return (
        row.opens / sent if sent else 0.0,
        row.clicks / sent if sent else 0.0,
        row.conversion_rate or 0.0,
    )


def report_chart(rows: list[VariantReport]) -> str:
    """Return an SVG with one group of bars per variant, rates from 0 to 100 %."""
    if not rows:
        return ""
    plot_height = HEIGHT - 2 * MARGIN
    group_width = (WIDTH - 2 * MARGIN) / len(rows)
    bar_width = group_width / (len(SERIES) + 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        'role="img" aria-label="Open, click and conversion rates per variant">',
        f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" '
        f'y2="{HEIGHT - MARGIN}" stroke="#888"/>',
    ]
    for index, row in enumerate(rows):
        left = MARGIN + index * group_width
        for position, (value, (label, colour)) in enumerate(
            zip(rates(row), SERIES, strict=True)
        ):
            height = plot_height * min(value, 1.0)
            x = left + (position + 0.5) * bar_width
            y = HEIGHT - MARGIN - height
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_width:.1f}" '
                f'height="{height:.1f}" fill="{colour}"><title>{escape(row.name)} '
                f"{label}: {value:.1%}</title></rect>"
            )
        parts.append(
            f'<text x="{left + group_width / 2:.1f}" y="{HEIGHT - 10}" '
            f'text-anchor="middle" font-size="12">{escape(row.name)}</text>'
        )
    for position, (label, colour) in enumerate(SERIES):
        x = MARGIN + position * 120
        parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="15" font-size="11">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)
