"""Handlers of the roster pages: search, a patient with every request made for them, import.

Searches are POSTs so names never appear in a URL (R-SEC-4). The browser import runs the same
checks as `flask --app portal roster import` and shows every problem with its line number.
"""

from __future__ import annotations

from flask import abort, current_app, render_template, request

from portal.accounts.permissions import MANAGE_ROSTER, WORK_REQUESTS, staff_required
from portal.accounts.sessions import current_actor
from portal.core.db import get_session, read_mostly
from portal.queue import roster_forms as forms
from portal.requests.location import view_patient
from portal.roster.operations import import_roster, roster_counts, search_roster
from portal.roster.parsing import COLUMNS


@read_mostly
@staff_required(WORK_REQUESTS)
def index():
    """The roster: how big it is, and a search by MRN or name."""
    session = get_session()
    form = forms.RosterSearchForm()
    results = None
    status = 200
    if request.method == "POST":
        if form.validate():
            results = search_roster(session, form.q.data, current_actor())
        else:
            status = 422
    return render_template("roster/index.html", form=form, results=results,
                           counts=roster_counts(session)), status


@staff_required(WORK_REQUESTS)
def patient(patient_id: int):
    """One roster patient: names, admissions, chart, and all requests ever made for them."""
    found = view_patient(get_session(), patient_id, current_actor())
    if found is None:
        abort(404)
    roster_patient, requests = found
    return render_template("roster/patient.html", patient=roster_patient, requests=requests)


@staff_required(MANAGE_ROSTER)
def import_csv():
    """Upload the roster CSV: every row checked, nothing imported while problems remain."""
    form = forms.RosterImportForm()
    limit = int(current_app.config["ROSTER_UPLOAD_MAX_BYTES"])
    if request.method == "GET":
        return render_template("roster/import.html", form=form, result=None, columns=COLUMNS)
    if not form.validate():
        return render_template("roster/import.html", form=form, result=None,
                               columns=COLUMNS), 422
    if (request.content_length or 0) > limit:
        form.roster.errors = [f"The file is larger than {limit // (1024 * 1024)} MB."]
        return render_template("roster/import.html", form=form, result=None,
                               columns=COLUMNS), 413
    result = import_roster(get_session(), form.roster.data.stream, actor=current_actor(),
                           skip_invalid=form.skip_invalid.data)
    return render_template("roster/import.html", form=form, result=result,
                           columns=COLUMNS), (200 if result.imported else 422)
