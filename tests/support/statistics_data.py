"""A generated data set for the statistics tests, and the figures computed from plain rows.

`generate` writes random complaints (with their tasks and the audit trail of their task
forms) and improvement projects straight into the tables, as many as a test wants, and
fills the case columns a step keeps from them (engine.case_facts.refill).
`read_rows` reads every case, task and form answer back as plain dictionaries, and
`expected` computes the figures from those with nothing but Python: loops, sets and the
calendar's own day-by-day `elapsed`. The engine computes them in SQL with a business-hour
table; the two must agree.
"""
from __future__ import annotations

import datetime as dt
import random
import secrets
import statistics as pystats
import uuid
from collections import Counter, defaultdict
from typing import Optional

from sqlalchemy import insert, select

from engine import audit, case_facts
from engine.models import AuditEvent, HumanTask, ProcessInstance, ProcessVersion, User

UTC = dt.timezone.utc
DEPARTMENTS = ("quality", "logistics", "sales", None)
TYPES = ("product_quality", "logistics", "service_attitude", "after_sales", None)
CHANNELS = ("hotline", "web", "counter", "social", "email", None)
STEPS = (("dispatch", "Dispatch to the responsible department", "cs_agent"),
         ("verify", "Preliminary verification", "dept_handler"),
         ("propose_solution", "Propose a solution", "dept_handler"),
         ("confirm_major", "Confirm the major complaint", "gm_office"),
         ("handle_rejections", "Escalation: customer rejected three times", "cs_supervisor"),
         ("odd_step", 'Check "quoted", <tagged> & listed, with comma\nand a new line 检查',
          "cs_agent"))
ROLE_TEAM = {"cs_agent": "customer_service", "cs_supervisor": "customer_service",
             "gm_office": "gm_office"}
REPEAT_DAYS = 90


def _moment(rng: random.Random, first: dt.datetime, last: dt.datetime) -> dt.datetime:
    seconds = int((last - first).total_seconds())
    return (first + dt.timedelta(seconds=rng.randrange(seconds))).replace(microsecond=0)


def generate(services, count: int, first: dt.datetime, last: dt.datetime,
             seed: int = 14, improvements: int = 0, prefix: str = "S") -> None:
    """`count` complaints registered between `first` and `last`, and `improvements`
    improvement projects, with random facts; tickets start with `prefix`."""
    rng = random.Random(seed)
    customers = [(f"139{seed:04d}{n:04d}", f"c{n}@example.com" if n % 3 else None,
                  f"SO-{n}" if n % 4 == 0 else None) for n in range(max(count // 4, 2))]
    with services.db.write() as session:
        version_of = {process_id: session.execute(select(ProcessVersion.id).where(
            ProcessVersion.process_id == process_id)).scalars().first()
            for process_id in ("complaint", "improvement")}
        users = session.execute(select(User.id)).scalars().all()
        written = []
        for n in range(count + improvements):
            complaint = n < count
            created = _moment(rng, first, last)
            status = rng.choice(("open", "closed", "closed", "cancelled"))
            closed = created + dt.timedelta(minutes=rng.randrange(30, 60 * 24 * 20)) \
                if status != "open" else None
            phone, email, order = rng.choice(customers)
            department = rng.choice(DEPARTMENTS)
            case_id = session.execute(insert(ProcessInstance).returning(ProcessInstance.id), {
                "version_id": version_of["complaint" if complaint else "improvement"],
                "ticket": f"{prefix}{n:08d}" if complaint else f"I{prefix}{n:08d}",
                "status": status, "path": rng.choice(("general", "major", None)),
                "revision": 1, "customer_name": f"Customer {n}",
                "customer_phone": phone if complaint else None,
                "customer_email": email if complaint else None,
                "order_number": order if complaint else None,
                "complaint_type": rng.choice(TYPES), "department_code": department,
                "channel": rng.choice(CHANNELS) if complaint else None,
                "received_at": created - dt.timedelta(minutes=rng.randrange(0, 180))
                if rng.random() < 0.9 else None,
                "status_token_hash": secrets.token_hex(32) if complaint else None,
                "created_at": created, "updated_at": closed or created, "closed_at": closed,
            }).scalar_one()
            if not complaint:
                continue
            for _task in range(rng.randrange(0, 6)):
                name, title, role = rng.choice(STEPS)
                opened = created + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 10))
                state = rng.choice(("completed", "completed", "ready", "cancelled"))
                done = opened + dt.timedelta(minutes=rng.randrange(1, 60 * 24 * 3)) \
                    if state != "ready" else None
                due = opened + dt.timedelta(hours=rng.randrange(1, 48)) \
                    if rng.random() < 0.8 else None
                session.execute(insert(HumanTask), {
                    "id": str(uuid.uuid4()), "instance_id": case_id, "name": name,
                    "title": title, "lane": role, "role": role,
                    "department_code": department if role == "dept_handler" else None,
                    "state": state, "created_at": opened, "due_at": due, "completed_at": done,
                    "completed_by_id": rng.choice(users) if state == "completed" else None,
                    "breached_at": due if due and rng.random() < 0.3 else None,
                    "escalated_at": due if due and rng.random() < 0.15 else None,
                })
            events = []
            for _classification in range(rng.choice((0, 1, 1, 2))):
                events.append(("task_completed", "agent", {"task": "classify", "data": {
                    "urgency": rng.choice(("urgent", "normal", "minor")),
                    "complaint_type": "other"}}))
            for _decision in range(rng.choice((0, 0, 1, 2, 3))):
                field = rng.choice(("customer_response", "customer_plan_response"))
                events.append(("task_completed", "agent", {"task": "customer_decision", "data": {
                    field: rng.choice(("accept", "reject", "partly_accept"))}}))
            if rng.random() < 0.5:
                data = {"satisfaction": rng.choice(("satisfied", "fairly_satisfied",
                                                    "not_satisfied")),
                        "follow_up_channel": "phone", "new_problem": False}
                if rng.random() < 0.6:
                    data["satisfaction_score"] = rng.randrange(1, 6)
                events.append(("task_completed", "agent", {"task": "follow_up", "data": data}))
            rng.shuffle(events)
            events.append(("case_viewed", "auditor", {}))
            audit.record_many(session, case_id, events)
            written.append(case_id)
        # The columns each step would have kept, from the rows just written.
        case_facts.refill(session.connection(), written)


def read_rows(services) -> tuple[list[dict], list[dict], dict[int, list[dict]]]:
    """Every case, every task and each case's task-form answers (in order)."""
    with services.db.read() as session:
        cases = [{c.name: getattr(p, c.name) for c in ProcessInstance.__table__.columns}
                 for p in session.execute(select(ProcessInstance)).scalars()]
        tasks = [{c.name: getattr(t, c.name) for c in HumanTask.__table__.columns}
                 for t in session.execute(select(HumanTask)).scalars()]
        answers: dict[int, list[dict]] = defaultdict(list)
        for event in session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars():
            if event.kind == "task_completed" and event.instance_id is not None:
                answers[event.instance_id].append(event.detail.get("data") or {})
    return cases, tasks, answers


def _p90(values: list[float]) -> Optional[float]:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return pystats.quantiles(values, n=10, method="inclusive")[8]


def expected(rows, first: dt.date, last: dt.date, department: Optional[str], calendar,
             as_of: dt.datetime, zone) -> dict:
    """The figures of the complaints registered from `first` to `last` (days in `zone`)."""
    cases, tasks, answers = rows
    start = dt.datetime.combine(first, dt.time(), zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)

    def registered(case) -> bool:
        return start <= case["created_at"] < end and (
            not department or case["department_code"] == department)

    complaints = [c for c in cases if c["status_token_hash"] and registered(c)]
    ids = {c["id"] for c in complaints}
    by_id = {c["id"]: c for c in complaints}
    figures: dict = {"received": len(complaints)}
    for name, column in (("by_type", "complaint_type"), ("by_channel", "channel"),
                         ("by_path", "path"), ("by_status", "status")):
        figures[name] = dict(Counter(c[column] or "" for c in complaints))

    urgency, satisfaction, score, rejections = {}, {}, {}, Counter()
    for case_id in ids:
        for data in answers.get(case_id, []):
            if data.get("urgency"):
                urgency[case_id] = data["urgency"]
            if data.get("satisfaction"):
                satisfaction[case_id] = data["satisfaction"]
                score[case_id] = data.get("satisfaction_score")
            rejections[case_id] += sum(data.get(f) == "reject"
                                       for f in ("customer_response", "customer_plan_response"))
    figures["by_urgency"] = dict(Counter(urgency.get(i, "") for i in ids))
    figures["satisfaction_levels"] = dict(Counter(satisfaction.values()))
    scores = [s for i, s in score.items() if s is not None]
    figures["scored"] = len(scores)
    figures["mean_score"] = sum(scores) / len(scores) if scores else None
    figures["rejections"] = sum(rejections.values())
    figures["rejected"] = {i for i in ids if rejections[i]}
    figures["urgency_ids"] = {value: {i for i in ids if urgency.get(i, "") == value}
                              for value in set(urgency.values()) | {""}}
    figures["satisfaction_ids"] = {value: {i for i in ids if satisfaction.get(i) == value}
                                   for value in set(satisfaction.values())}

    own_tasks = [t for t in tasks if t["instance_id"] in ids]

    def decided(t) -> bool:
        return t["due_at"] is not None and (
            t["state"] == "completed" or (t["state"] == "ready" and t["due_at"] < as_of))

    def kept(t) -> bool:
        return t["due_at"] is not None and t["state"] == "completed" \
            and t["completed_at"] <= t["due_at"]

    steps, teams, per_dept = defaultdict(lambda: [0, 0]), defaultdict(lambda: [0, 0]), \
        defaultdict(lambda: [0, 0])
    for t in own_tasks:
        team = t["department_code"] or ROLE_TEAM.get(t["role"], t["role"])
        dept = by_id[t["instance_id"]]["department_code"] or ""
        for table, key in ((steps, t["name"]), (teams, team), (per_dept, dept)):
            table[key][0] += decided(t)
            table[key][1] += kept(t)
    figures["steps"] = {k: tuple(v) for k, v in steps.items() if v[0]}
    figures["teams"] = {k: tuple(v) for k, v in teams.items() if v[0]}
    figures["dept_on_time"] = {k: tuple(v) for k, v in per_dept.items()}
    figures["on_time"] = (sum(v[0] for v in steps.values()), sum(v[1] for v in steps.values()))
    late = [t for t in own_tasks if decided(t) and not kept(t)]
    figures["late_ids"] = {t["instance_id"] for t in late}
    figures["late_step_ids"] = {name: {t["instance_id"] for t in late if t["name"] == name}
                                for name in {t["name"] for t in late}}
    figures["escalated_steps"] = sum(t["escalated_at"] is not None for t in own_tasks)
    figures["escalated_ids"] = {t["instance_id"] for t in own_tasks if t["escalated_at"]}
    figures["breached_steps"] = sum(t["breached_at"] is not None for t in own_tasks)
    figures["rejection_escalations"] = sum(t["name"] == "handle_rejections" for t in own_tasks)

    hours = defaultdict(list)
    for c in complaints:
        if c["status"] == "closed" and c["closed_at"] is not None:
            begin = c["received_at"] or c["created_at"]
            hours[c["department_code"] or ""].append(
                calendar.elapsed(begin, c["closed_at"]).total_seconds() / 3600)
    every = [h for values in hours.values() for h in values]
    figures["handling"] = (len(every), pystats.median(every) if every else None, _p90(every))
    figures["dept_handling"] = {d: (len(v), pystats.median(v), _p90(v)) for d, v in hours.items()}

    everyone = sorted((c for c in cases if c["status_token_hash"]),
                      key=lambda c: (c["created_at"], c["id"]))
    repeats = set()
    for case in complaints:
        keys = {(n, case[k]) for n, k in enumerate(("customer_phone", "customer_email",
                                                    "order_number")) if case[k]}
        for other in everyone:
            if (other["created_at"], other["id"]) >= (case["created_at"], case["id"]):
                break
            if case["created_at"] - other["created_at"] > dt.timedelta(days=REPEAT_DAYS):
                continue
            if keys & {(n, other[k]) for n, k in enumerate(("customer_phone", "customer_email",
                                                            "order_number")) if other[k]}:
                repeats.add(case["id"])
                break
    figures["repeat_ids"] = repeats

    projects = [c for c in cases if not c["status_token_hash"] and registered(c)]
    figures["improvements"] = (sum(p["status"] == "open" for p in projects),
                               sum(p["status"] == "closed" for p in projects))
    return figures
