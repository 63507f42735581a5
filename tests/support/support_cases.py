"""Reading and working the steps of an overseas support case (an inquiry, a technical
problem, an order) through the services, by ticket."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from engine import runtime
from engine.models import HumanTask, ProcessInstance


def open_task(services, ticket: str, name: str) -> HumanTask:
    with services.db.read() as session:
        row = session.execute(select(HumanTask).join(ProcessInstance).where(
            ProcessInstance.ticket == ticket, HumanTask.name == name,
            HumanTask.state == "ready")).scalar_one_or_none()
        assert row is not None, f"{name} is not open on {ticket}"
        session.expunge(row)
        return row


def open_names(services, ticket: str) -> list[str]:
    with services.db.read() as session:
        return list(session.execute(select(HumanTask.name).join(ProcessInstance).where(
            ProcessInstance.ticket == ticket, HumanTask.state == "ready")).scalars())


def do(services, actors, ticket, name, user="support", **data):
    return runtime.complete_task(services, actors[user], open_task(services, ticket, name).id,
                                 data)


def local(moment: dt.datetime, zone) -> dt.datetime:
    """The wall time in `zone`, without its zone, to compare with a plain datetime."""
    return moment.astimezone(zone).replace(tzinfo=None)
