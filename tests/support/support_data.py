"""A generated month (or several) of overseas support work for the support metrics, made by
driving the real inquiry and technical-support processes with a moved clock: questions and
technical problems arrive during the support team's working hours in New York, an agent
gives the first response some minutes later (in time or not), answers or solves the case
or leaves it open, and customers rate some answers on their status page.

`generate` returns what it did as plain records, so a test computes the expected figures
from them with nothing but Python.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Optional
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine import customers, inquiries, runtime, technical_support
from engine.models import HumanTask, ProcessInstance

NEW_YORK = ZoneInfo("America/New_York")
# Receipts on a working day of the team (never a US holiday): each case is done before the
# next one arrives, and every deadline falls on the day of receipt.
SLOTS = (dt.time(9, 10), dt.time(12, 10), dt.time(15, 10))
DELAYS = (5, 20, 40, 55, 70, 95, 125)  # minutes to the first response
DEADLINE_MINUTES = {"inquiry": 60, "technical": 120}
LEVELS = ("satisfied", "fairly_satisfied", "not_satisfied")
QUESTION = {"customer_name": "Jane Miller", "company": "Miller Supplies Inc.",
            "country": "United States", "customer_email": "jane.miller@example.com",
            "product": "Air purifier AP-300",
            "question": "Which replacement filter fits the AP-300?"}
PROBLEM = {"customer_name": "Tom Berg", "company": "Berg Trading", "country": "Canada",
           "customer_email": "tom.berg@example.com", "model": "Air purifier AP-300",
           "description": "The fan stops after ten minutes.", "environment": "Office",
           "region": "metro", "urgency": "normal"}


@dataclass(frozen=True)
class Done:
    """One generated case: what happened to it, as the test needs to know."""

    kind: str                      # inquiry | technical
    received: dt.datetime
    agent: Optional[str]           # who gave the first response; None: still waiting
    delay_minutes: Optional[int]
    resolved: bool                 # answered or solved
    rating: Optional[str]


def _open_task(services, ticket: str, name: str) -> str:
    with services.db.read() as session:
        return session.execute(select(HumanTask.id).join(ProcessInstance).where(
            ProcessInstance.ticket == ticket, HumanTask.name == name,
            HumanTask.state == "ready")).scalar_one()


def _do(services, actor, ticket: str, name: str, **data) -> None:
    runtime.complete_task(services, actor, _open_task(services, ticket, name), data)


def _inquiry(services, clock, actor, delay: Optional[int], ending: str, rating: str) -> Done:
    received = clock.now
    filed = inquiries.file_inquiry(services, QUESTION)
    if delay is None:
        return Done("inquiry", received, None, None, False, None)
    clock.advance(minutes=delay)
    _do(services, actor, filed.ticket, "first_response",
        acknowledgement="Thank you, we have your question.", promised_hours=4)
    clock.advance(minutes=5)
    if ending == "complaint":
        _do(services, actor, filed.ticket, "classify_inquiry", category="complaint",
            handling="simple", product="Air purifier AP-300")
        return Done("inquiry", received, actor.username, delay, False, None)
    _do(services, actor, filed.ticket, "classify_inquiry", category="product",
        handling="simple")
    if ending == "open":
        return Done("inquiry", received, actor.username, delay, False, None)
    clock.advance(minutes=5)
    _do(services, actor, filed.ticket, "send_final_answer", final_answer="Use the F-300.")
    if ending == "unrated":
        return Done("inquiry", received, actor.username, delay, True, None)
    customers.complete(services, filed.status_token,
                       _open_task(services, filed.ticket, "rate_answer"),
                       {"inquiry_satisfaction": rating})
    return Done("inquiry", received, actor.username, delay, True, rating)


def _problem(services, clock, actor, delay: Optional[int], ending: str) -> Done:
    received = clock.now
    filed = technical_support.file_problem(services, PROBLEM)
    if delay is None:
        return Done("technical", received, None, None, False, None)
    clock.advance(minutes=delay)
    _do(services, actor, filed.ticket, "remote_help", remote_notes="Reset by video call.",
        remote_result="solved")
    if ending == "open":
        return Done("technical", received, actor.username, delay, False, None)
    clock.advance(minutes=5)
    _do(services, actor, filed.ticket, "explain_solution", cause="Dust in the fan.",
        solution="Cleaned the fan.")
    return Done("technical", received, actor.username, delay, True, None)


def generate(services, clock, agents: list, days: list[dt.date], seed: int = 4,
             weights: tuple[int, ...] = ()) -> list[Done]:
    """Three cases on each of `days` (New York working days), each agent taking cases in
    proportion to `weights` and drawing satisfaction from a leaning of their own."""
    rng = random.Random(seed)
    leaning = {a.username: rng.sample(LEVELS, 3) for a in agents}
    done = []
    for day in days:
        for slot in SLOTS:
            clock.now = dt.datetime.combine(day, slot, NEW_YORK)
            actor = rng.choices(agents, weights=weights or None)[0]
            delay = None if rng.random() < 0.08 else rng.choice(DELAYS)
            if rng.random() < 0.3:
                done.append(_problem(services, clock, actor, delay,
                                     rng.choice(("solved", "solved", "open"))))
                continue
            ending = rng.choice(("rated", "rated", "rated", "unrated", "open", "complaint"))
            rating = rng.choices(leaning[actor.username], weights=(6, 3, 1))[0]
            done.append(_inquiry(services, clock, actor, delay, ending, rating))
    return done
