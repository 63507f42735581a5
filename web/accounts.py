"""Administration of accounts (engine/accounts.py): users, departments and their heads,
API tokens. Administrators only; each form shows its errors next to the field."""
from __future__ import annotations

import functools

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine import account_import, accounts, password_reset
from engine.directory import ROLES

from .i18n import _
from .identity import current_actor, login_required
from .services import services

bp = Blueprint("accounts", __name__, url_prefix="/admin")


def admin_page(view):
    """Signed in (else to the login page) and an administrator (else 403)."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        accounts.require_admin(current_actor())
        return view(*args, **kwargs)
    return login_required(wrapped)


def _form(*names: str) -> dict:
    return {name: request.form.get(name, "") for name in names}


PROFILE = ("display_name", "email", "department")


def _users_page(form: dict | None = None, errors: dict | None = None, status: int = 200):
    with services().db.read() as db:
        rows = accounts.users(db)
        departments = accounts.departments(db)
    return render_template("admin_users.html", users=rows, departments=departments,
                           roles=ROLES, form=form or {"roles": []}, errors=errors or {},
                           min_length=accounts.MIN_PASSWORD), status


def _user_page(username: str, errors: dict | None = None, form: dict | None = None,
               new_token: tuple | None = None, status: int = 200):
    with services().db.read() as db:
        person = accounts.user(db, username)
        tokens = accounts.tokens(db, username)
        departments = accounts.departments(db)
    shown = form or {"display_name": person.display_name, "email": person.email or "",
                     "department": person.department or "", "roles": list(person.roles)}
    return render_template("admin_user.html", person=person, tokens=tokens,
                           departments=departments, roles=ROLES, form=shown,
                           errors=errors or {}, new_token=new_token,
                           min_length=accounts.MIN_PASSWORD,
                           is_self=person.username == current_actor().username), status


@bp.get("/users")
@admin_page
def users():
    return _users_page()


@bp.post("/users")
@admin_page
def create_user():
    form = {**_form("username", *PROFILE), "roles": request.form.getlist("roles")}
    try:
        username = accounts.create(
            services(), current_actor(), form["username"], request.form.get("password", ""),
            request.form.get("confirm", ""), form["display_name"], form["email"],
            form["roles"], form["department"])
    except accounts.AccountInvalid as exc:
        return _users_page(form, {exc.field: exc.args[0]}, status=422)
    flash(_("User %(username)s created.", username=username), "success")
    return redirect(url_for("accounts.user", username=username))


@bp.get("/users/<username>")
@admin_page
def user(username: str):
    return _user_page(username)


@bp.post("/users/<username>")
@admin_page
def update_user(username: str):
    form = {**_form(*PROFILE), "roles": request.form.getlist("roles")}
    try:
        accounts.update(services(), current_actor(), username, form["display_name"],
                        form["email"], form["roles"], form["department"])
    except accounts.AccountInvalid as exc:
        return _user_page(username, {exc.field: exc.args[0]}, form, status=422)
    flash(_("The changes to %(username)s are saved.", username=username), "success")
    return redirect(url_for("accounts.user", username=username))


@bp.post("/users/<username>/password")
@admin_page
def reset_password(username: str):
    try:
        accounts.reset_password(services(), current_actor(), username,
                                request.form.get("password", ""),
                                request.form.get("confirm", ""))
    except accounts.AccountInvalid as exc:
        return _user_page(username, {exc.field: exc.args[0]}, status=422)
    flash(_("The password of %(username)s is reset; their sessions and API tokens have "
            "ended.", username=username), "success")
    return redirect(url_for("accounts.user", username=username))


@bp.post("/users/<username>/reset-link")
@admin_page
def send_reset_link(username: str):
    try:
        address = password_reset.send_link(services(), current_actor(), username)
    except accounts.AccountInvalid as exc:
        return _user_page(username, {exc.field: exc.args[0]}, status=422)
    flash(_("A link to set a new password is on its way to %(email)s; it works for one "
            "hour.", email=address), "success")
    return redirect(url_for("accounts.user", username=username))


@bp.post("/users/<username>/deactivate")
@admin_page
def deactivate_user(username: str):
    try:
        accounts.deactivate(services(), current_actor(), username)
    except accounts.AccountInvalid as exc:
        return _user_page(username, {exc.field: exc.args[0]}, status=422)
    flash(_("%(username)s is deactivated: they can no longer sign in.", username=username),
          "success")
    return redirect(url_for("accounts.user", username=username))


@bp.post("/users/<username>/tokens")
@admin_page
def create_token(username: str):
    try:
        token, expires = accounts.create_token(services(), current_actor(), username,
                                               request.form.get("days", ""))
    except accounts.AccountInvalid as exc:
        return _user_page(username, {exc.field: exc.args[0]}, status=422)
    # Shown once, on this answer only: what is stored is its digest.
    return _user_page(username, new_token=(token, expires))


@bp.post("/users/<username>/tokens/<key>/revoke")
@admin_page
def revoke_token(username: str, key: str):
    accounts.revoke_token(services(), current_actor(), username, key)
    flash(_("The API token is revoked."), "success")
    return redirect(url_for("accounts.user", username=username))


def _departments_page(errors: dict | None = None, form: dict | None = None,
                      status: int = 200):
    with services().db.read() as db:
        departments = accounts.departments(db)
        people = [u for u in accounts.users(db) if u.active]
    return render_template("admin_departments.html", departments=departments, people=people,
                           errors=errors or {}, form=form or {}), status


@bp.get("/departments")
@admin_page
def departments():
    return _departments_page()


@bp.post("/departments")
@admin_page
def create_department():
    form = _form("code", "name")
    try:
        accounts.create_department(services(), current_actor(), form["code"], form["name"])
    except accounts.AccountInvalid as exc:
        return _departments_page({exc.field: exc.args[0]}, form, status=422)
    flash(_("Department %(code)s created.", code=form["code"].strip()), "success")
    return redirect(url_for("accounts.departments"))


@bp.post("/departments/<code>")
@admin_page
def update_department(code: str):
    form = _form("name", "head")
    try:
        accounts.update_department(services(), current_actor(), code, form["name"],
                                   form["head"])
    except accounts.AccountInvalid as exc:
        return _departments_page({f"{code}:{exc.field}": exc.args[0]}, status=422)
    flash(_("Department %(code)s saved.", code=code), "success")
    return redirect(url_for("accounts.departments"))


def _calendars_page(errors: dict | None = None, form: dict | None = None,
                    status: int = 200):
    with services().db.read() as db:
        departments = accounts.departments(db)
        days = accounts.calendar_days(db)
    return render_template("admin_calendars.html", departments=departments, days=days,
                           calendars=accounts.calendar_names(), errors=errors or {},
                           form=form or {"is_open": "closed"}), status


@bp.get("/calendars")
@admin_page
def calendars():
    return _calendars_page()


@bp.post("/calendars/days")
@admin_page
def set_calendar_day():
    form = _form("calendar", "day", "is_open", "reason")
    try:
        day = accounts.set_calendar_day(services(), current_actor(), form["calendar"],
                                        form["day"], form["is_open"], form["reason"])
    except accounts.AccountInvalid as exc:
        return _calendars_page({exc.field: exc.args[0]}, form, status=422)
    flash(_("%(day)s on %(calendar)s is saved.", day=day.isoformat(),
            calendar=form["calendar"]), "success")
    return redirect(url_for("accounts.calendars"))


@bp.post("/calendars/departments/<code>")
@admin_page
def set_department_calendar(code: str):
    try:
        accounts.set_department_calendar(services(), current_actor(), code,
                                         request.form.get("calendar", ""))
    except accounts.AccountInvalid as exc:
        return _calendars_page({exc.field: exc.args[0]}, status=422)
    flash(_("Department %(code)s saved.", code=code), "success")
    return redirect(url_for("accounts.calendars"))


def _import_page(kind: str = "users", plan=None, text: str = "", filename: str = "",
                 error: str | None = None, status: int = 200):
    return render_template("admin_import.html", kind=kind, plan=plan, text=text,
                           filename=filename, error=error, columns=account_import.COLUMNS,
                           required=account_import.REQUIRED, roles=ROLES,
                           max_kib=account_import.MAX_BYTES // 1024,
                           max_rows=account_import.MAX_ROWS), status


def _kind() -> str:
    kind = request.form.get("kind", "users")
    return kind if kind in account_import.COLUMNS else "users"


@bp.get("/import")
@admin_page
def import_form():
    kind = request.args.get("kind", "users")
    return _import_page(kind if kind in account_import.COLUMNS else "users")


@bp.post("/import/preview")
@admin_page
def import_preview():
    """Reads the uploaded file and shows what it would do; nothing is written."""
    upload = request.files.get("file")
    kind = _kind()
    try:
        if upload is None or not upload.filename:
            raise account_import.ImportRefused(_("Choose a CSV file to upload."))
        data = upload.stream.read(account_import.MAX_BYTES + 1)
        text = account_import.read_upload(upload.filename, upload.mimetype, data)
        plan = account_import.preview(services(), current_actor(), kind, text)
    except account_import.ImportRefused as exc:
        return _import_page(kind, error=exc.args[0], status=exc.status)
    return _import_page(kind, plan, text, upload.filename)


@bp.post("/import")
@admin_page
def import_apply():
    """Writes the previewed file (sent back with the form), checked again as a whole."""
    kind = _kind()
    text = request.form.get("text", "")
    filename = request.form.get("filename", "")[:120]
    try:
        plan = account_import.apply(services(), current_actor(), kind, text, filename,
                                    send_links=request.form.get("send_links") == "yes")
    except account_import.ImportRefused as exc:
        try:
            plan = account_import.preview(services(), current_actor(), kind, text)
        except account_import.ImportRefused:
            plan = None
        return _import_page(kind, plan, text if plan else "", filename, exc.args[0],
                            exc.status)
    flash(_("Imported: %(created)s created, %(changed)s changed.",
            created=plan.count("create"), changed=plan.count("update")), "success")
    return redirect(url_for("accounts.users" if kind == "users" else "accounts.departments"))
