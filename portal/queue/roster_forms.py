"""Forms of the roster pages: search (posted, so no PHI in URLs) and the CSV upload."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField
from wtforms.validators import ValidationError

from portal.core.forms import Text


class RosterSearchForm(FlaskForm):
    """Find a roster patient by MRN or by name (legal or other)."""

    q = StringField(_l("MRN or name"), validators=[
        Text(200, required=_l("Type an MRN or a name."))])


class RosterImportForm(FlaskForm):
    """Upload the roster CSV; the same checks as the command line import."""

    roster = FileField(_l("Roster file (CSV, UTF-8)"))
    skip_invalid = BooleanField(_l("Import the valid rows and skip the invalid ones"))

    def validate_roster(self, field):
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Choose the roster CSV file."))
