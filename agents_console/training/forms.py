"""Forms of the intent-training pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional


class ExampleForm(FlaskForm):
    intent = SelectField(_l("Ý định"), choices=[], validators=[DataRequired(_l("Chọn ý định."))])
    category = SelectField(_l("Lĩnh vực (chỉ với phản ánh)"), choices=[], validators=[Optional()])
    text = StringField(
        _l("Câu mẫu"),
        validators=[
            DataRequired(_l("Vui lòng nhập câu mẫu.")),
            Length(max=2000, message=_l("Câu mẫu dài quá 2.000 ký tự.")),
        ],
    )


class LabelForm(FlaskForm):
    intent = SelectField(
        _l("Ý định đúng"), choices=[], validators=[DataRequired(_l("Chọn ý định."))]
    )
    category = SelectField(_l("Lĩnh vực"), choices=[], validators=[Optional()])


class ImportForm(FlaskForm):
    file = FileField(_l("Tệp Rasa NLU YAML"), validators=[FileRequired(_l("Chọn một tệp .yml."))])
