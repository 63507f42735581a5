"""Create the demo directory (the shipped processes deploy through engine/versions.py)."""
from __future__ import annotations

from sqlalchemy import select

from .calendars import default_calendar_of
from .directory import create_user, ensure_department
from .models import User
from .services import Services

DEPARTMENTS = [
    ("customer_service", "Customer service"),
    ("quality", "Quality"),
    ("logistics", "Logistics"),
    ("sales", "Sales"),
    ("gm_office", "General manager's office"),
    ("overseas_support", "Overseas customer support"),
    # 001's channels with hours of their own: their calendars count the hour in which a
    # complaint they receive is to be entered, and the social-media desk's 30-minute reply.
    ("social_media", "Social-media desk"),
    ("store_counters", "Store counters"),
]

DEMO_PASSWORD = "demo"
DEMO_USERS = [
    # username, display name, roles, department
    ("agent", "Li Na (agent)", ["cs_agent"], "customer_service"),
    ("supervisor", "Wang Fang (CS supervisor)", ["cs_supervisor", "cs_agent"], "customer_service"),
    ("handler", "Zhang Wei (quality handler)", ["dept_handler"], "quality"),
    ("head", "Liu Yang (quality head)", ["dept_head", "dept_handler"], "quality"),
    ("handler2", "Chen Jie (logistics handler)", ["dept_handler"], "logistics"),
    # Collects the payment a customer held back when the complaint is not upheld (003).
    ("sales", "Ma Jun (sales handler)", ["dept_handler"], "sales"),
    ("director", "Zhao Min (CS director)", ["cs_director"], "customer_service"),
    ("gm", "Sun Hao (GM office)", ["gm_office"], "gm_office"),
    ("leader", "Zhou Lei (leadership group)", ["leadership"], None),
    ("owner", "Wu Xia (process owner)", ["process_owner"], None),
    ("auditor", "Xu Jing (compliance)", ["compliance"], None),
    ("admin", "Administrator", ["admin"], None),
    ("support", "Emma Weber (overseas support agent)", ["support_agent"], "overseas_support"),
    ("supportlead", "Daniel Tan (overseas support manager)", ["support_manager", "support_agent"],
     "overseas_support"),
]


def ensure_departments(services: Services) -> None:
    with services.db.write() as session:
        for code, name in DEPARTMENTS:
            ensure_department(session, code, name, default_calendar_of(code))


def create_demo_directory(services: Services) -> list[tuple[str, str]]:
    """Create the demo users once; returns (username, roles) for printing."""
    ensure_departments(services)
    with services.db.write() as session:
        existing = set(session.execute(select(User.username)).scalars())
        for username, name, roles, department in DEMO_USERS:
            if username not in existing:
                create_user(session, username, DEMO_PASSWORD, roles, display_name=name,
                            department=department, email=f"{username}@example.com")
    return [(u, ", ".join(r)) for u, _n, r, _d in DEMO_USERS]
