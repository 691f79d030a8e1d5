"""Intent training pages: admins edit the bot's examples, label the review queue, retrain,
read the evaluation report and publish or roll back model versions. Supervisors may look."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from agents_console.admin.forms import options
from agents_console.auth.access import current_user, require_role
from agents_console.training.forms import ExampleForm, ImportForm, LabelForm
from agents_console.web.db import db
from agents_console.web.labels import core_text
from bot.nlu import versions
from bot.nlu.data import DATA_DIR, HOLDOUT_DIR, DataError
from bot.nlu.editing import COMPLAINT, EditError, Labels, TrainingFiles, summary
from bot.nlu.retrain import train_version
from intake.clock import utcnow
from intake.models import Role, User
from intake.runtime import Runtime
from intake.services import training as review
from intake.services.errors import DomainError

bp = Blueprint("training", __name__, url_prefix="/console/training", template_folder="templates")
admin_only = require_role(Role.ADMIN)
can_look = require_role(Role.ADMIN, Role.SUPERVISOR)
PAGE_SIZE = 200
# One training at a time per process: a second click waits for nothing, it is refused.
_TRAINING = threading.Lock()


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["hotline.runtime"]
    return runtime


def _var_dir() -> Path:
    return _runtime().settings.var_dir


def _files() -> TrainingFiles:
    data_dir = Path(current_app.config.get("HOTLINE_NLU_DATA_DIR") or DATA_DIR)
    domain = Path(current_app.config.get("HOTLINE_NLU_DOMAIN") or data_dir.parent / "domain.yml")
    return TrainingFiles(data_dir, domain)


def _me() -> User:
    user = current_user()
    assert user is not None  # the role check ran first
    return user


def _label_choices(form: Any, labels: Labels) -> None:
    form.intent.choices = options([(i, i) for i in labels.intents])
    form.category.choices = options([("", _("— không —")), *((c, c) for c in labels.categories)])


def _full_intent(labels: Labels, form: Any) -> str:
    category = form.category.data if form.intent.data == COMPLAINT else None
    return labels.full_intent(form.intent.data, category)


def _flash_form_errors(form: Any) -> None:
    for messages in form.errors.values():
        for message in messages:
            flash(str(message), "error")


@bp.get("/")
@can_look
def index() -> ResponseReturnValue:
    files = _files()
    examples = files.examples()
    queue = review.review_queue(db(), threshold=_runtime().settings.nlu_fallback_threshold)
    return render_template(
        "training/index.html",
        counts=summary(examples),
        total=len(examples),
        queue_size=len(queue),
        live=versions.live_version(_var_dir()),
        latest=next(iter(versions.list_versions(_var_dir())), None),
        import_form=ImportForm(),
    )


# Examples -----------------------------------------------------------------------------------


@bp.get("/examples")
@can_look
def examples() -> ResponseReturnValue:
    files = _files()
    labels = files.labels
    q = request.args.get("q", "").strip()
    intent = request.args.get("intent", "").strip()
    category = request.args.get("category", "").strip()
    found = files.search(q, intent, category)
    form = ExampleForm()
    _label_choices(form, labels)
    return render_template(
        "training/examples.html",
        examples=found[:PAGE_SIZE],
        total=len(found),
        q=q,
        intent=intent,
        category=category,
        labels=labels,
        form=form,
    )


@bp.post("/examples")
@admin_only
def example_add() -> ResponseReturnValue:
    files = _files()
    labels = files.labels
    form = ExampleForm()
    _label_choices(form, labels)
    if form.validate_on_submit():
        try:
            added = files.add(_full_intent(labels, form), form.text.data)
        except EditError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Đã thêm câu mẫu vào “%(intent)s”.", intent=added.intent), "success")
            return redirect(url_for("training.examples", intent=added.base_intent, q=added.text))
    else:
        _flash_form_errors(form)
    return redirect(url_for("training.examples"))


@bp.route("/examples/<example_id>", methods=["GET", "POST"])
@admin_only
def example_edit(example_id: str) -> ResponseReturnValue:
    files = _files()
    labels = files.labels
    try:
        example = files.get(example_id)
    except EditError:
        abort(404)
    form = ExampleForm(
        data={
            "intent": example.base_intent,
            "category": example.category or "",
            "text": example.raw,
        }
        if request.method == "GET"
        else None
    )
    _label_choices(form, labels)
    status = 200
    if form.validate_on_submit():
        try:
            saved = files.update(example.id, _full_intent(labels, form), form.text.data)
        except EditError as exc:
            form.text.errors = [str(exc)]
        else:
            flash(_("Đã lưu câu mẫu."), "success")
            return redirect(url_for("training.examples", intent=saved.base_intent, q=saved.text))
    if form.errors:
        status = 400
    return render_template("training/example_edit.html", form=form, example=example), status


@bp.post("/examples/<example_id>/delete")
@admin_only
def example_delete(example_id: str) -> ResponseReturnValue:
    try:
        removed = _files().delete(example_id)
    except EditError as exc:
        flash(str(exc), "error")
        return redirect(url_for("training.examples"))
    flash(_("Đã xóa câu mẫu khỏi “%(intent)s”.", intent=removed.intent), "success")
    return redirect(url_for("training.examples", intent=removed.base_intent))


@bp.get("/export.yml")
@can_look
def export() -> ResponseReturnValue:
    body = _files().export_yaml(utcnow())
    return Response(
        body,
        mimetype="application/x-yaml",
        headers={"Content-Disposition": "attachment; filename=nlu-export.yml"},
    )


@bp.post("/import")
@admin_only
def import_yaml() -> ResponseReturnValue:
    form = ImportForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for("training.index"))
    try:
        content = form.file.data.read().decode("utf-8")
    except UnicodeDecodeError:
        flash(_("Tệp phải được mã hóa UTF-8."), "error")
        return redirect(url_for("training.index"))
    try:
        result = _files().import_yaml(content)
    except EditError as exc:
        flash(str(exc), "error")
        return redirect(url_for("training.index"))
    flash(
        _(
            "Đã nhập %(added)d câu mẫu mới; %(present)d câu đã có sẵn; "
            "%(conflicts)d câu bị bỏ qua vì đã có với nhãn khác.",
            added=result.added,
            present=result.already_present,
            conflicts=len(result.conflicts),
        ),
        "success" if not result.conflicts else "info",
    )
    return redirect(url_for("training.index"))


# Review queue -------------------------------------------------------------------------------


@bp.get("/review")
@can_look
def review_queue() -> ResponseReturnValue:
    files = _files()
    labels = files.labels
    items = review.review_queue(db(), threshold=_runtime().settings.nlu_fallback_threshold)
    form = LabelForm()
    _label_choices(form, labels)
    recording_endpoint = next(
        (e for e in ("cases.recording", "cases.case_recording") if e in current_app.view_functions),
        None,
    )
    return render_template(
        "training/review.html",
        items=items,
        form=form,
        labels=labels,
        recording_endpoint=recording_endpoint,
        recent=review.recent_reviews(db()),
    )


@bp.post("/review/<kind>/<int:item_id>")
@admin_only
def review_label(kind: str, item_id: int) -> ResponseReturnValue:
    """Label a queued message or call: its text becomes a training example."""
    files = _files()
    labels = files.labels
    form = LabelForm()
    _label_choices(form, labels)
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for("training.review_queue"))
    session = db()
    try:
        full = _full_intent(labels, form)
        text = review.pending_text(session, kind, item_id)
        # The training files first: if they refuse (a duplicate, say), nothing is recorded.
        # A chat message may span lines; an example is one line.
        files.add(full, " ".join(text.split()))
        intent, _sep, category = full.partition("/")
        review.record_label(
            session, kind, item_id, intent=intent, category=category or None, by=_me(), now=utcnow()
        )
    except (EditError, DomainError) as exc:
        flash(core_text(exc.message_vi) if isinstance(exc, DomainError) else str(exc), "error")
        return redirect(url_for("training.review_queue"))
    flash(_("Đã thêm vào dữ liệu huấn luyện với nhãn “%(intent)s”.", intent=full), "success")
    return redirect(url_for("training.review_queue"))


@bp.post("/review/<kind>/<int:item_id>/dismiss")
@admin_only
def review_dismiss(kind: str, item_id: int) -> ResponseReturnValue:
    try:
        review.dismiss(db(), kind, item_id, by=_me(), now=utcnow())
    except DomainError as exc:
        flash(core_text(exc.message_vi), "error")
    else:
        flash(_("Đã bỏ qua mục này."), "info")
    return redirect(url_for("training.review_queue"))


# Versions: retrain, report, publish, roll back ---------------------------------------------


@bp.post("/retrain")
@admin_only
def retrain() -> ResponseReturnValue:
    """Train and evaluate a new version (about 3 s on the embedded engine), not yet served."""
    if not _TRAINING.acquire(blocking=False):
        flash(_("Đang huấn luyện một phiên bản khác, vui lòng đợi."), "error")
        return redirect(url_for("training.versions_list"))
    try:
        holdout = Path(current_app.config.get("HOTLINE_NLU_HOLDOUT_DIR") or HOLDOUT_DIR)
        version = train_version(
            _var_dir(),
            _files().data_dir,
            now=utcnow(),
            created_by=_me().username,
            holdout_dir=holdout,
        )
    except DataError as exc:
        flash(_("Không huấn luyện được: %(error)s", error=str(exc)), "error")
        return redirect(url_for("training.versions_list"))
    finally:
        _TRAINING.release()
    flash(
        _(
            "Đã huấn luyện phiên bản %(id)s trong %(seconds)s giây. Xem báo cáo rồi công bố.",
            id=version.id,
            seconds=version.manifest.train_seconds,
        ),
        "success",
    )
    return redirect(url_for("training.version_detail", version_id=version.id))


@bp.get("/versions")
@can_look
def versions_list() -> ResponseReturnValue:
    return render_template(
        "training/versions.html",
        versions=versions.list_versions(_var_dir()),
        live_id=versions.live_version_id(_var_dir()),
    )


def _version_or_404(version_id: str) -> versions.Version:
    try:
        return versions.get_version(_var_dir(), version_id)
    except versions.VersionError:
        abort(404)


@bp.get("/versions/<version_id>")
@can_look
def version_detail(version_id: str) -> ResponseReturnValue:
    version = _version_or_404(version_id)
    report: dict[str, Any] = {}
    if version.report_json.is_file():
        report = json.loads(version.report_json.read_text(encoding="utf-8"))
    return render_template(
        "training/version.html",
        version=version,
        report=report.get("holdout"),
        live_id=versions.live_version_id(_var_dir()),
    )


@bp.get("/versions/<version_id>/report.png")
@can_look
def version_plot(version_id: str) -> ResponseReturnValue:
    version = _version_or_404(version_id)
    if not version.report_png.is_file():
        abort(404)
    return send_file(version.report_png, mimetype="image/png", max_age=3600)


@bp.post("/versions/<version_id>/publish")
@admin_only
def version_publish(version_id: str) -> ResponseReturnValue:
    """Serve this version everywhere (also how an older version is rolled back to)."""
    previous = versions.live_version_id(_var_dir())
    version = _version_or_404(version_id)
    versions.publish(_var_dir(), version.id, now=utcnow(), by=_me().username)
    current_app.logger.info(
        "NLU model version %s published by %s (was %s)", version.id, _me().username, previous
    )
    if previous and previous > version.id:
        flash(_("Đã quay lại phiên bản %(id)s.", id=version.id), "success")
    else:
        flash(
            _("Đã công bố phiên bản %(id)s: bot đang dùng mô hình này.", id=version.id), "success"
        )
    return redirect(url_for("training.versions_list"))


@bp.post("/unpublish")
@admin_only
def unpublish() -> ResponseReturnValue:
    versions.unpublish(_var_dir())
    flash(_("Bot quay về mô hình huấn luyện tự động từ dữ liệu hiện tại."), "info")
    return redirect(url_for("training.versions_list"))
