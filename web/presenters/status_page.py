"""The customer's status page behind their private link: where the complaint stands, the
questions we ask them, the conversation and the evidence. Its forms (answers, messages,
files, withdrawing) show it again with their reason when they come back."""
from __future__ import annotations

from flask import abort, render_template

from engine import attachments, customers
from engine.errors import NotFound

from .. import conversation, formrender
from ..i18n import use_customer_preferences
from ..services import services
from . import reviewed_item


def filed_blocks(view: customers.CustomerStatus) -> list[dict]:
    """What the customer filed, under the customer form's own labels."""
    schema, ui = view.filed_form
    props = schema.get("properties") or {}
    return [reviewed_item.field_block(props.get(name) or {}, ui.get(name) or {},
                                      formrender.label_of(schema, ui, name), view.filed[name])
            for name in formrender.field_order(schema, ui) if name in view.filed]


def status_page(token, errors=None, values=None, status=200, conversation_state=None):
    try:
        view = customers.status(services(), token)
        messages = conversation.customer_panel(services(), token, **(conversation_state or {}))
        files = attachments.customer_listing(services(), token)
    except NotFound:
        abort(404)
    use_customer_preferences(view.locale, view.timezone)
    questions = []
    for item in view.tasks:
        schema, ui = reviewed_item.form_without_copies(item.schema, item.ui, item.reviewed)
        questions.append({"item": item, "reviewed": reviewed_item.present(item.reviewed),
                          "schema": schema, "ui": ui})
    return render_template("status.html", view=view, token=token, errors=errors or {},
                           values=values or {}, now=services().now(), questions=questions,
                           filed=filed_blocks(view), conversation=messages,
                           evidence=files), status
