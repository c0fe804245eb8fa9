"""The thermometer: a small, accessible SVG a website can embed (role="img", a title and a description,
amounts as real text). Every piece of text is escaped by Jinja2's autoescape."""

from __future__ import annotations

from jinja2 import Environment

from vwfund.campaigns.crowdfunding.status import CampaignStatus
from vwfund.money import Money

WIDTH, HEIGHT = 280, 440
TUBE_X, TUBE_W, TUBE_TOP, TUBE_BOTTOM = 40, 36, 40, 350
SCALE_TOP = TUBE_TOP + 12  # the goal's mark: the fill stays inside the tube's rounded top
BULB_CX, BULB_CY, BULB_R = TUBE_X + TUBE_W // 2, 380, 34
LABEL_X = BULB_CX + BULB_R + 10

_TEMPLATE = """\
<svg xmlns="http://www.w3.org/2000/svg" width="{{ w }}" height="{{ h }}" viewBox="0 0 {{ w }} {{ h }}" \
role="img" aria-labelledby="{{ id }}-title {{ id }}-desc" lang="{{ lang }}">
  <title id="{{ id }}-title">{{ name }}: {{ total }} of {{ goal }} ({{ share }}%)</title>
  <desc id="{{ id }}-desc">{{ total }} raised toward a goal of {{ goal }}{% if matched %}, \
including {{ matched }} matched funding{% endif %}; {{ state_text }}.</desc>
  <style>text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;fill:#1b1b1b}\
.big{font-size:22px;font-weight:700}.small{font-size:13px}.tick{font-size:11px;fill:#555}</style>
  <rect x="{{ tx }}" y="{{ top }}" width="{{ tw }}" height="{{ bottom - top + 10 }}" rx="{{ tw // 2 }}" \
fill="#eef1f4" stroke="#5b6770" stroke-width="2"/>
  <circle cx="{{ cx }}" cy="{{ cy }}" r="{{ r }}" fill="#c8102e" stroke="#5b6770" stroke-width="2"/>
  <rect x="{{ tx + 6 }}" y="{{ fill_top }}" width="{{ tw - 12 }}" height="{{ cy - fill_top }}" fill="#c8102e"/>
{% for t in ticks %}  <line x1="{{ tx + tw }}" y1="{{ t.y }}" x2="{{ tx + tw + 8 }}" y2="{{ t.y }}" \
stroke="#5b6770" stroke-width="1.5"/>
  <text class="tick" x="{{ tx + tw + 12 }}" y="{{ t.y + 4 }}">{{ t.label }}</text>
{% endfor %}  <text class="big" x="{{ w // 2 }}" y="26" text-anchor="middle">{{ total }}</text>
  <text class="small" x="{{ lx }}" y="{{ cy - 8 }}">{{ share }}% of {{ goal }}</text>
  <text class="small" x="{{ lx }}" y="{{ cy + 10 }}">{{ state_text }}</text>
{% if matched %}  <text class="small" x="{{ lx }}" y="{{ cy + 28 }}">incl. {{ matched }} matched</text>
{% endif %}</svg>
"""

_env = Environment(autoescape=True, keep_trailing_newline=True)
_template = _env.from_string(_TEMPLATE)


def _state_text(status: CampaignStatus) -> str:
    if status.state == "upcoming":
        return "starts soon"
    if status.state == "ended":
        return "campaign ended"
    days = status.days_left
    return f"{days} day{'s' if days != 1 else ''} left"


def render_thermometer(status: CampaignStatus, locale: str = "nl_NL") -> str:
    """The thermometer SVG of a status: the fill is the total's share of the goal (full at 100% or more)."""
    def fmt(minor: int) -> str:
        return Money(minor, status.currency).format(locale)

    goal = status.campaign.goal_minor
    height = BULB_CY - SCALE_TOP
    filled = height * min(max(status.total_minor, 0), goal) // goal
    ticks = [{"y": BULB_CY - height * q // 4, "label": fmt(goal * q // 4)} for q in (1, 2, 3, 4)]
    return _template.render(
        w=WIDTH, h=HEIGHT, id=f"cf-{status.campaign.code}", lang=locale.replace("_", "-"),
        name=status.campaign.name, total=fmt(status.total_minor), goal=fmt(goal), share=status.share_of_goal,
        matched=fmt(status.matched_minor) if status.matched_minor else "", state_text=_state_text(status),
        tx=TUBE_X, tw=TUBE_W, top=TUBE_TOP, bottom=TUBE_BOTTOM, cx=BULB_CX, cy=BULB_CY, r=BULB_R, lx=LABEL_X,
        fill_top=BULB_CY - filled, ticks=ticks,
    )
