"""The limits that hold however many web processes serve: how often one address may
file or write, how many acknowledgements one recipient gets, how often an account may
fail to sign in. Counted by the `limits` library in the database (engine/limit_storage).

Each rule is a list of limits in the library's notation ("10/minute;50/hour"), set by
an environment variable or left at its default.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from limits import RateLimitItem, parse_many
from limits.strategies import FixedWindowRateLimiter

from .limit_storage import SqlStorage


@dataclass(frozen=True)
class Rule:
    name: str
    setting: str
    default: str


# Anonymous complaints from one client address, on the page and through the API alike.
FILING = Rule("filing", "COMPLAINTS_FILING_LIMIT", "10/minute;50/hour")
# Acknowledgements to one e-mail address, whoever files in its name.
ACKNOWLEDGEMENTS = Rule("acknowledgement", "COMPLAINTS_ACKNOWLEDGEMENT_LIMIT", "5/hour")
# Failed sign-ins of one account, on the pages and the API together: each tier used up
# makes the next wait longer.
SIGN_IN_FAILURES = Rule("sign-in-failures", "COMPLAINTS_SIGN_IN_FAILURE_LIMIT",
                        "5/minute;10/15 minutes;20/hour;50/day")
# Sign-in attempts from one client address, whichever accounts they name.
SIGN_IN_ADDRESS = Rule("sign-in-address", "COMPLAINTS_SIGN_IN_ADDRESS_LIMIT", "30/minute")
# Password reset links asked for one account (by its name or e-mail address): the
# owner's mailbox is not to be flooded, and each mail costs a write.
PASSWORD_RESETS = Rule("password-resets", "COMPLAINTS_PASSWORD_RESET_LIMIT",
                       "3/15 minutes;10/day")
# Customer messages and evidence uploads from one client address.
CUSTOMER_WRITES = Rule("customer-writes", "COMPLAINTS_CUSTOMER_WRITE_LIMIT", "20/minute")

RULES = (FILING, ACKNOWLEDGEMENTS, SIGN_IN_FAILURES, SIGN_IN_ADDRESS, PASSWORD_RESETS,
         CUSTOMER_WRITES)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds, when refused
    # This hit used up a limit that had room before it (the moment to tell someone).
    just_exhausted: bool = False


class RateLimits:
    def __init__(self, storage: SqlStorage, settings: Mapping[str, str] | None = None):
        self.storage = storage
        self.limiter = FixedWindowRateLimiter(storage)
        settings = os.environ if settings is None else settings
        self._items = {rule.name: parse_many(settings.get(rule.setting) or rule.default)
                       for rule in RULES}

    @classmethod
    def on(cls, engine, clock: Callable[[], float] | None = None,
           settings: Mapping[str, str] | None = None) -> "RateLimits":
        storage = SqlStorage(engine) if clock is None else SqlStorage(engine, clock=clock)
        return cls(storage, settings)

    def within(self, connection) -> "RateLimits":
        """The same limits, counted in the caller's transaction."""
        counted = RateLimits(self.storage.within(connection), {})
        counted._items = self._items
        return counted

    def configure(self, rule: Rule, limits: str) -> None:
        """Replace a rule's limits (an application's own setting)."""
        self._items[rule.name] = parse_many(limits)

    def items(self, rule: Rule) -> list[RateLimitItem]:
        return self._items[rule.name]

    def hit(self, rule: Rule, key: str) -> Verdict:
        """Count one event against every limit of the rule; refused if one is used up."""
        allowed, exhausted = True, False
        for item in self.items(rule):
            if self.limiter.hit(item, rule.name, key):
                exhausted = exhausted or self.limiter.get_window_stats(
                    item, rule.name, key).remaining == 0
            else:
                allowed = False
        if allowed:
            return Verdict(True, just_exhausted=exhausted)
        return Verdict(False, max(1, self.wait(rule, key)), exhausted)

    def wait(self, rule: Rule, key: str) -> int:
        """Seconds until every limit of the rule has room again (0: it has now)."""
        waits = [0.0]
        for item in self.items(rule):
            if not self.limiter.test(item, rule.name, key):
                reset = self.limiter.get_window_stats(item, rule.name, key).reset_time
                waits.append(reset - self.storage.clock())
        return max(0, math.ceil(max(waits)))

    def forgive(self, rule: Rule, key: str) -> None:
        """Forget what was counted against the key (a right password after wrong ones)."""
        for item in self.items(rule):
            self.limiter.clear(item, rule.name, key)

    def blocked(self, rule: Rule, key: str) -> Optional[int]:
        """Without counting: the seconds to wait if a limit of the rule is used up."""
        return self.wait(rule, key) or None
