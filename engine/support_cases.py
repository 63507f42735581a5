"""The overseas support processes (004) whose cases the support team registers and
customers file on the public site, each with its filing function: one table for every
place that starts such a case by hand (the generic start call, scenarios)."""
from __future__ import annotations

from . import inquiries, order_support, technical_support

FILERS = {
    inquiries.INQUIRY_PROCESS: inquiries.file_inquiry,
    technical_support.PROCESS: technical_support.file_problem,
    order_support.PROCESS: order_support.file_order,
}
