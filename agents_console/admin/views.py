"""Administration pages (admin role only): categories with their SLA hours, agencies, wards,
opening hours (read-only: an environment setting) and console users."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms import SelectChoice

from agents_console.admin.forms import (
    AgencyForm,
    CategoryForm,
    PasswordResetForm,
    UserCreateForm,
    UserEditForm,
    WardForm,
    agency_kind_label,
    options,
)
from agents_console.auth.access import current_user, require_role
from agents_console.web.db import db
from agents_console.web.labels import core_text
from agents_console.web.nav import ROLE_LABELS
from intake.clock import utcnow
from intake.config import ConfigError, parse_open_hours
from intake.models import Agency, AgencyKind, Category, Role, User, Ward
from intake.runtime import Runtime
from intake.services import reference_admin as ref
from intake.services.errors import DomainError, InvalidInput
from intake.services.users import create_user, set_active, set_password, update_user

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/console/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
admin_only = require_role(Role.ADMIN)


def _agency_choices(blank: str) -> list[SelectChoice]:
    agencies = db().scalars(select(Agency).order_by(Agency.name))
    return options([("", blank), *((str(a.id), a.name) for a in agencies)])


def _show_errors(form: Any, exc: InvalidInput) -> None:
    """Put a service's field errors (in the console's language) under the form's fields."""
    for name, message in exc.errors.items():
        field = getattr(form, name, None) or getattr(form, f"{name}_id", None)
        if field is not None:
            field.errors = [*field.errors, core_text(message)]
        else:
            flash(core_text(message), "error")


@bp.get("/")
@admin_only
def index() -> ResponseReturnValue:
    session = db()
    counts = {
        "categories": len(session.scalars(select(Category.id)).all()),
        "agencies": len(session.scalars(select(Agency.id)).all()),
        "wards": len(session.scalars(select(Ward.id)).all()),
        "users": len(session.scalars(select(User.id)).all()),
    }
    return render_template("admin/index.html", counts=counts)


# Categories ---------------------------------------------------------------------------------


@bp.get("/categories")
@admin_only
def categories() -> ResponseReturnValue:
    rows = db().scalars(select(Category).order_by(Category.name)).all()
    return render_template("admin/categories.html", categories=rows)


@bp.route("/categories/new", methods=["GET", "POST"], defaults={"category_id": None})
@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
@admin_only
def category_edit(category_id: int | None) -> ResponseReturnValue:
    category = db().get(Category, category_id) if category_id is not None else None
    if category_id is not None and category is None:
        abort(404)
    form = CategoryForm(obj=category)
    form.default_agency_id.choices = _agency_choices(_("— không có —"))
    status = 200
    if form.validate_on_submit():
        data = ref.CategoryData(
            code=form.code.data.strip(),
            name=form.name.data.strip(),
            description=(form.description.data or "").strip() or None,
            default_agency_id=form.default_agency_id.data,
            routes_to_ward=bool(form.routes_to_ward.data),
            ack_hours=form.ack_hours.data or 0,
            resolve_hours=form.resolve_hours.data or 0,
            active=bool(form.active.data),
        )
        try:
            saved = ref.save_category(db(), data, category_id)
        except InvalidInput as exc:
            _show_errors(form, exc)
        else:
            flash(_("Đã lưu lĩnh vực “%(name)s”.", name=saved.name), "success")
            return redirect(url_for("admin.categories"))
    if form.errors:
        status = 400
    return render_template("admin/category_form.html", form=form, category=category), status


@bp.post("/categories/<int:category_id>/delete")
@admin_only
def category_delete(category_id: int) -> ResponseReturnValue:
    return _delete(ref.delete_category, category_id, "admin.categories")


def _delete(action: Any, item_id: int, back: str) -> ResponseReturnValue:
    try:
        name = action(db(), item_id)
    except DomainError as exc:
        flash(core_text(exc.message_vi), "error")
    else:
        flash(_("Đã xóa “%(name)s”.", name=name), "success")
    return redirect(url_for(back))


# Agencies -----------------------------------------------------------------------------------


@bp.get("/agencies")
@admin_only
def agencies() -> ResponseReturnValue:
    rows = db().scalars(select(Agency).order_by(Agency.name)).all()
    return render_template("admin/agencies.html", agencies=rows, kind_label=agency_kind_label)


@bp.route("/agencies/new", methods=["GET", "POST"], defaults={"agency_id": None})
@bp.route("/agencies/<int:agency_id>", methods=["GET", "POST"])
@admin_only
def agency_edit(agency_id: int | None) -> ResponseReturnValue:
    agency = db().get(Agency, agency_id) if agency_id is not None else None
    if agency_id is not None and agency is None:
        abort(404)
    form = AgencyForm(obj=agency)
    if form.validate_on_submit():
        data = ref.AgencyData(
            code=form.code.data.strip(),
            name=form.name.data.strip(),
            kind=AgencyKind(form.kind.data),
            phone=(form.phone.data or "").strip() or None,
            email=(form.email.data or "").strip() or None,
            active=bool(form.active.data),
        )
        try:
            saved = ref.save_agency(db(), data, agency_id)
        except InvalidInput as exc:
            _show_errors(form, exc)
        else:
            flash(_("Đã lưu đơn vị “%(name)s”.", name=saved.name), "success")
            return redirect(url_for("admin.agencies"))
    status = 400 if form.errors else 200
    return render_template("admin/agency_form.html", form=form, agency=agency), status


@bp.post("/agencies/<int:agency_id>/delete")
@admin_only
def agency_delete(agency_id: int) -> ResponseReturnValue:
    return _delete(ref.delete_agency, agency_id, "admin.agencies")


# Wards --------------------------------------------------------------------------------------


@bp.get("/wards")
@admin_only
def wards() -> ResponseReturnValue:
    rows = db().scalars(select(Ward).order_by(Ward.name)).all()
    return render_template("admin/wards.html", wards=rows)


@bp.route("/wards/new", methods=["GET", "POST"], defaults={"ward_id": None})
@bp.route("/wards/<int:ward_id>", methods=["GET", "POST"])
@admin_only
def ward_edit(ward_id: int | None) -> ResponseReturnValue:
    ward = db().get(Ward, ward_id) if ward_id is not None else None
    if ward_id is not None and ward is None:
        abort(404)
    form = WardForm(obj=ward)
    form.agency_id.choices = _agency_choices(_("— chưa gán —"))
    if form.validate_on_submit():
        data = ref.WardData(
            code=form.code.data.strip(),
            name=form.name.data.strip(),
            district=form.district.data.strip(),
            agency_id=form.agency_id.data,
        )
        try:
            saved = ref.save_ward(db(), data, ward_id)
        except InvalidInput as exc:
            _show_errors(form, exc)
        else:
            flash(_("Đã lưu phường/xã “%(name)s”.", name=saved.name), "success")
            return redirect(url_for("admin.wards"))
    status = 400 if form.errors else 200
    return render_template("admin/ward_form.html", form=form, ward=ward), status


@bp.post("/wards/<int:ward_id>/delete")
@admin_only
def ward_delete(ward_id: int) -> ResponseReturnValue:
    return _delete(ref.delete_ward, ward_id, "admin.wards")


# Opening hours ------------------------------------------------------------------------------


@bp.get("/hours")
@admin_only
def hours() -> ResponseReturnValue:
    runtime: Runtime = current_app.extensions["hotline.runtime"]
    raw = runtime.settings.ivr_open_hours
    try:
        parsed = parse_open_hours(raw)
        error = None
    except ConfigError as exc:
        parsed, error = None, str(exc)
    return render_template("admin/hours.html", raw=raw, parsed=parsed, error=error)


# Users --------------------------------------------------------------------------------------


def _role_choices() -> list[SelectChoice]:
    return options([(r.value, str(ROLE_LABELS[r])) for r in Role])


@bp.get("/users")
@admin_only
def users() -> ResponseReturnValue:
    rows = db().scalars(select(User).order_by(User.active.desc(), User.username)).all()
    return render_template("admin/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
@admin_only
def user_new() -> ResponseReturnValue:
    form = UserCreateForm()
    form.role.choices = _role_choices()
    form.agency_id.choices = _agency_choices(_("— không có —"))
    if form.validate_on_submit():
        agency = db().get(Agency, form.agency_id.data) if form.agency_id.data else None
        try:
            user = create_user(
                db(),
                username=form.username.data,
                full_name=form.full_name.data,
                role=Role(form.role.data),
                password=form.password.data,
                now=utcnow(),
                agency_code=agency.code if agency else None,
            )
        except InvalidInput as exc:
            _show_errors(form, exc)
        else:
            flash(_("Đã tạo tài khoản “%(username)s”.", username=user.username), "success")
            return redirect(url_for("admin.users"))
    status = 400 if form.errors else 200
    return render_template("admin/user_new.html", form=form), status


def _user_or_404(user_id: int) -> User:
    user = db().get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_only
def user_edit(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    form = UserEditForm(obj=user)
    form.role.choices = _role_choices()
    form.agency_id.choices = _agency_choices(_("— không có —"))
    if form.validate_on_submit():
        try:
            update_user(
                db(),
                user,
                full_name=form.full_name.data,
                role=Role(form.role.data),
                agency_id=form.agency_id.data,
            )
        except InvalidInput as exc:
            _show_errors(form, exc)
        else:
            flash(_("Đã lưu tài khoản “%(username)s”.", username=user.username), "success")
            return redirect(url_for("admin.users"))
    status = 400 if form.errors else 200
    body = render_template(
        "admin/user_edit.html", form=form, user=user, password_form=PasswordResetForm()
    )
    return body, status


@bp.post("/users/<int:user_id>/password")
@admin_only
def user_password(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        set_password(db(), user, form.password.data)
        flash(_("Đã đặt mật khẩu mới cho “%(username)s”.", username=user.username), "success")
    else:
        for messages in form.errors.values():
            for message in messages:
                flash(str(message), "error")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.post("/users/<int:user_id>/active")
@admin_only
def user_active(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    me = current_user()
    assert me is not None
    try:
        set_active(db(), user, not user.active, by=me)
    except InvalidInput as exc:
        for message in exc.errors.values():
            flash(core_text(message), "error")
    else:
        if user.active:
            flash(_("Đã mở lại tài khoản “%(username)s”.", username=user.username), "success")
        else:
            flash(_("Đã khóa tài khoản “%(username)s”.", username=user.username), "success")
    return redirect(url_for("admin.users"))
