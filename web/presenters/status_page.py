"""The customer's status page behind their private link: where the complaint stands, the
questions we ask them, the conversation and the evidence. Its forms (answers, messages,
files, withdrawing) show it again with their reason when they come back."""
from __future__ import annotations

from flask import abort, render_template

from engine import attachments, customers
from engine.errors import NotFound

from .. import conversation
from ..i18n import use_customer_preferences
from ..services import services


def status_page(token, errors=None, values=None, status=200, conversation_state=None):
    try:
        view = customers.status(services(), token)
        messages = conversation.customer_panel(services(), token, **(conversation_state or {}))
        files = attachments.customer_listing(services(), token)
    except NotFound:
        abort(404)
    use_customer_preferences(view.locale, view.timezone)
    return render_template("status.html", view=view, token=token, errors=errors or {},
                           values=values or {}, now=services().now(),
                           conversation=messages, evidence=files), status
