"""Form fields and checks every area's forms share: trimmed text without control characters,
ISO dates, radio and checkbox choices that refuse forged values, email addresses.

Forms own their validation; these helpers make the same input judged the same way on the
requester's side and the clerk's.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from wtforms import Field, RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, DateInput, ListWidget

from portal.rules.deadlines import today_pacific

# Control characters, zero-width and bidirectional overrides (which can disguise text).
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)
CLOSURE_DATE = date(2018, 11, 10)  # the Woolsey Fire; no stay can start after it
EARLIEST_DATE = date(1900, 1, 1)


# ------------------------------------------------------------------------- fields and checks


def parse_date(text: str | None) -> date | None:
    """A date typed as YYYY-MM-DD (the browser's date picker) or MM/DD/YYYY, else None."""
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y"):
        try:
            return datetime.strptime((text or "").strip(), fmt).date()
        except ValueError:
            continue
    return None


class DateField(StringField):
    """A date field rendered as a date picker that keeps whatever was typed on errors."""

    widget = DateInput()

    def process_formdata(self, valuelist):
        raw = (valuelist[0] if valuelist else "").strip()
        self.data = parse_date(raw) if raw else None
        if raw and self.data is None:
            raise ValueError(_l("Enter a real date, for example 2016-03-31."))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if self.data else ""


class DatePartsField(Field):
    """A date typed in separate boxes, month, day and year (the memorable-date pattern): no
    picker to scroll through forty years, and no format to guess. ``what`` names the date in
    messages ("the date of birth"; the label when not given). ``day=False`` asks for the
    month and year only, where people will not know the day (the date is then the month's
    first, or with ``end_of_month`` its last).

    Posted as ``<name>-month``, ``<name>-day``, ``<name>-year``; kept in a draft as the list of
    what was typed, in that order, so a page shown again holds exactly what was typed. A single
    ISO value (an older draft, or a client posting the date whole) is read too.
    """

    def __init__(self, label=None, validators=None, *, day: bool = True,
                 end_of_month: bool = False, what=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.what = what
        self.keys = ("month", "day", "year") if day else ("month", "year")
        self.end_of_month = end_of_month
        self.parts = dict.fromkeys(self.keys, "")

    def input_name(self, key: str) -> str:
        return f"{self.name}-{key}"

    def typed_values(self) -> list[str]:
        """What was typed, box by box (how a draft keeps it)."""
        return [self.parts[key] for key in self.keys]

    def process(self, formdata, data=None, extra_filters=None):
        self.process_errors = []
        self.object_data = data
        self.data = data if isinstance(data, date) else None
        if self.data is not None:
            self.parts = self._parts_of(self.data)
        if formdata is None:
            return
        if any(self.input_name(key) in formdata for key in self.keys):
            self.parts = {key: (formdata.get(self.input_name(key)) or "").strip()
                          for key in self.keys}
        elif self.name in formdata:
            values = [v.strip() for v in formdata.getlist(self.name)]
            whole = parse_date(values[0]) if len(values) == 1 else None
            if whole is not None:
                self.parts = self._parts_of(whole)
            elif len(values) == len(self.keys):
                self.parts = dict(zip(self.keys, values, strict=True))
            else:
                self.parts = dict.fromkeys(self.keys, "")
                self.parts[self.keys[0]] = values[0] if values else ""
        else:
            return
        self.raw_data = self.typed_values()
        try:
            self.data = self._date()
        except ValueError as exc:
            self.data = None
            self.process_errors.append(exc.args[0])

    def _parts_of(self, day: date) -> dict[str, str]:
        return {key: str(getattr(day, key)) for key in self.keys}

    def _date(self) -> date | None:
        given = {key: value for key, value in self.parts.items() if value}
        if not given:
            return None
        what = str(self.what or self.label.text)
        subject = what[:1].upper() + what[1:]
        missing = [key for key in self.keys if key not in given]
        if missing:
            raise ValueError(_l("%(what)s must include a %(part)s.", what=subject,
                                part=PART_WORDS[missing[0]]()))
        if not all(value.isdigit() for value in given.values()):
            raise ValueError(_l("%(what)s must be a real date, written in numbers, for "
                                "example 4 12 1980.", what=subject))
        year = int(given["year"])
        if len(given["year"]) != 4:
            raise ValueError(_l("Write the year of %(what)s with 4 digits, for example 1980.",
                                what=what))
        month = int(given["month"])
        day = int(given.get("day", "1"))
        try:
            value = date(year, month, day)
        except ValueError:
            raise ValueError(_l("%(what)s must be a real date.", what=subject)) from None
        if self.end_of_month and "day" not in self.keys:
            following = date(year + month // 12, month % 12 + 1, 1)
            value = following - timedelta(days=1)
        return value

    def _value(self):
        return ""


PART_WORDS = {"month": lambda: _l("month"), "day": lambda: _l("day"),
              "year": lambda: _l("year")}


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as the choices WTForms expects."""
    return [SelectChoice(value, label) for value, label in pairs]


def _allowed(field) -> set[str]:
    return {str(choice.value) for choice in field.choices}


class ChoiceField(RadioField):
    """Radio buttons; an empty answer is left to the field's own check, a forged one refused."""

    def pre_validate(self, form):
        if self.data and self.data not in _allowed(self):
            raise StopValidation(_l("Choose from the options shown."))


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice (rendered by the choices() macro)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        allowed = _allowed(self)
        for value in self.data or []:
            if value not in allowed:
                raise ValidationError(_l("Choose from the options shown."))


class Text:
    """Trimmed text without control characters, within a length limit (required or not)."""

    def __init__(self, max_length: int, *, required: str | None = None, multiline: bool = False,
                 letters: bool = False):
        self.max_length = max_length
        self.required = required
        self.multiline = multiline
        self.letters = letters

    def __call__(self, form, field: Field):
        value = (field.data or "").strip()
        if self.multiline:
            value = value.replace("\r\n", "\n")
        field.data = value
        if not value:
            if self.required:
                raise StopValidation(self.required)
            return
        allowed_control = "\n\t" if self.multiline else ""
        if any(_CONTROL.match(c) for c in value if c not in allowed_control) or (
            not self.multiline and ("\n" in value or "\t" in value)
        ):
            raise StopValidation(_l("Remove the unusual characters (such as control characters) "
                                    "from this answer."))
        if len(value) > self.max_length:
            raise StopValidation(_l("Use %(max)s characters or fewer (you entered %(count)s).",
                                    max=self.max_length, count=len(value)))
        if self.letters and not any(unicodedata.category(c).startswith("L") for c in value):
            raise StopValidation(_l("Enter a name using letters."))


def required_choice(message: str):
    """A radio choice must be made (the field's own choice check names wrong values)."""

    def check(form, field):
        if not field.data:
            raise StopValidation(message)

    return check


def past_date(what: str, *, required: bool):
    """A date that is not in the future (nor absurdly old)."""

    def check(form, field):
        if field.data is None:
            if required and not field.errors:
                raise StopValidation(_l("Enter %(what)s.", what=what))
            return
        if field.data > today_pacific():
            raise StopValidation(_l("%(what)s cannot be in the future.", what=what.capitalize()))
        if field.data < EARLIEST_DATE:
            raise StopValidation(_l("Check the year of %(what)s.", what=what))

    return check


class Normalized:
    """Replace an answer by its normal form (a rule's function), or refuse it with ``message``
    when the rule gives None. An empty answer is left to the field's other validators."""

    def __init__(self, normalize, message):
        self.normalize, self.message = normalize, message

    def __call__(self, form, field: Field):
        if not field.data:
            return
        value = self.normalize(field.data)
        if value is None:
            raise StopValidation(self.message)
        field.data = value


def UsState() -> Normalized:  # noqa: N802 - used like the validator classes beside it
    """A US state, territory or military code, or its name; stored as the USPS code."""
    from portal.rules.postal import state_code

    return Normalized(state_code, _l("Enter the state as its two-letter code (such as CA) or "
                                     "its name. For a military address use AA, AE or AP."))


def UsZip() -> Normalized:  # noqa: N802
    """A US ZIP code: five digits, or ZIP+4."""
    from portal.rules.postal import zip_code

    return Normalized(zip_code, _l("Enter a ZIP code of 5 digits, such as 93001, or ZIP+4, "
                                   "such as 93001-1234."))
