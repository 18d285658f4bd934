"""R-ID-5 (42 CFR 2.13(c)): nothing a visitor sees says whether the named person was a patient.

The same submission is made twice, once while the roster holds a matching patient and once
while it does not. Every page, redirect and email must be identical apart from the reference
number, dates, the typed email address and per-request tokens and ids.
"""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from sqlalchemy import delete, select

from portal.core.actor import SYSTEM
from portal.requests.models import RosterMatch
from portal.roster.models import RosterPatient
from portal.roster.operations import import_roster
from tests.foundation.test_dates import OTHER_STYLES
from tests.journey.samples import PATIENT_ANSWERS, step_answers

ROSTER_CSV = (
    b"mrn,legal_first_name,legal_last_name,other_names,dob,ssn_last4,admitted_on,"
    b"discharged_on,program,chart_location,chart_survived\n"
    b"TEST-000042,Avery,Quill,Avery Stone,1980-04-12,,2016-03-01,2016-04-02,residential,"
    b"Box 12,yes\n"
)
_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|"
           "December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec")
_VOLATILE = [
    (re.compile(r'name="csrf_token" value="[^"]+"'), 'name="csrf_token" value="<CSRF>"'),
    (re.compile(r'name="csrf-token" content="[^"]+"'), 'name="csrf-token" content="<CSRF>"'),
    # Seconds until the idle sign-out depend on when each page was fetched, not on the roster.
    (re.compile(r'data-idle-seconds="\d+"'), 'data-idle-seconds="<SECONDS>"'),
    # Names the signed-in person (two different requesters here), never the roster's answer.
    (re.compile(r'data-session-owner="[0-9a-f]+"'), 'data-session-owner="<OWNER>"'),
    (re.compile(r"CPP-\d{4}-\d{5}"), "<REFERENCE>"),
    (re.compile(r"[A-Za-z0-9_-]{43}"), "<TOKEN>"),
    (re.compile(r"/my-requests/\d+"), "/my-requests/<ID>"),
    (re.compile(r"[\w.+-]+@example\.test"), "<EMAIL>"),
    (re.compile(r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "), ""),
    (re.compile(rf"({_MONTHS}) \d{{1,2}}, \d{{4}}(, \d{{1,2}}:\d\d [ap]\.m\. P[SD]T)?"),
     "<DATE>"),
    (re.compile(r"\d{4}-\d\d-\d\d"), "<DATE>"),
    (re.compile(r"\(\d+ days? (left|overdue)\)|\(due today\)"), "(<DAYS>)"),
]


def _normal(text: str) -> str:
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def _journey(client, outbox, email: str) -> list[str]:
    """Everything the visitor sees, from the first step to the signed-in request page."""
    answers = {**PATIENT_ANSWERS, "contact": {**PATIENT_ANSWERS["contact"], "email": email,
                                              "email_confirm": email}}
    seen: list[str] = []
    mails_before = len(outbox())

    def record(response):
        seen.append(f"{response.status_code} {response.headers.get('Location', '')}")
        if response.mimetype == "application/pdf":
            reader = PdfReader(io.BytesIO(response.data))
            seen.append("\n".join(page.extract_text() for page in reader.pages))
        else:
            seen.append(response.get_data(as_text=True))
        return response

    response = record(client.post("/request/begin", data={"action": "new"}))
    while True:
        step = response.headers["Location"].rsplit("/", 1)[-1]
        record(client.get(response.headers["Location"]))
        if step == "sign":
            response = record(client.post("/request/step/sign", data={
                "signature_name": "Avery Quill", "attest": "y", "action": "next"}))
            break
        data: dict = dict(step_answers(answers, step))
        if step == "documents":
            from tests.journey.samples import jpeg_bytes

            data["photo_id"] = (io.BytesIO(jpeg_bytes()), "id.jpg")
        response = record(client.post(f"/request/step/{step}", data={**data, "action": "next"},
                                      content_type="multipart/form-data"))
        assert response.headers["Location"].rsplit("/", 1)[-1] != step, f"{step} refused"
    record(client.get("/request/sent"))
    record(client.get("/request/sent/receipt.pdf"))
    confirm = re.search(r"https?://\S+", outbox()[-1].get_content()).group(0)
    confirm_path = "/" + confirm.split("/", 3)[3]
    record(client.get(confirm_path))
    record(client.post(confirm_path))
    record(client.post("/sign-in", data={"email": email}))
    record(client.get("/sign-in/check-your-email"))
    magic = re.search(r"https?://\S+", outbox()[-1].get_content()).group(0)
    magic_path = "/" + magic.split("/", 3)[3]
    record(client.get(magic_path))
    record(client.post(magic_path))
    page = record(client.get("/my-requests")).get_data(as_text=True)
    detail = re.search(r'href="(/my-requests/\d+)"', page).group(1)
    record(client.get(detail))
    for mail in outbox()[mails_before:]:
        seen.append(f"{mail['From']} | {mail['Subject']}\n{mail.get_content()}")
    return [_normal(text) for text in seen]


def test_pages_and_emails_read_the_same_for_a_rostered_and_an_unknown_person(app, scope,
                                                                             outbox):
    with scope() as session:
        import_roster(session, io.BytesIO(ROSTER_CSV), actor=SYSTEM)
    rostered = _journey(app.test_client(), outbox, "first@example.test")
    with scope() as session:
        # The match really found the rostered patient (else this test would prove nothing).
        assert session.scalars(select(RosterMatch)).all()
        session.execute(delete(RosterMatch))
        session.execute(delete(RosterPatient))
    unknown = _journey(app.test_client(), outbox, "second@example.test")
    with scope() as session:
        assert len(session.scalars(select(RosterMatch)).all()) == 0
    assert len(rostered) == len(unknown)
    # One date style and one time style for people (#15 part 2): "<DATE>" above is the only
    # one, in every page, PDF and email of the journey (ISO stays in form values and exports).
    for item in rostered:
        visible = re.sub(r"<(script|style)\b.*?</\1>|<[^>]+>", " ", item, flags=re.S)
        assert not OTHER_STYLES.search(visible), OTHER_STYLES.search(visible).group(0)
    for index, (first, second) in enumerate(zip(rostered, unknown, strict=True)):
        assert first == second, f"difference in item {index}:\n{first[:400]}\n---\n{second[:400]}"


def test_every_email_subject_is_from_the_fixed_list_whatever_the_outcome_r_sec_6(scope, outbox):
    """R-SEC-6: a released and a "no records" request send their requesters the same
    subjects, each one of the fixed list; no subject names the program."""
    from portal.core.links import Subject
    from portal.requests.actions import record_outcome
    from tests.factories import (
        advance_request,
        make_request,
        make_roster_patient,
        make_staff,
        staff_actor,
    )
    from tests.journey.clerk import release_all

    allowed = {subject.value for subject in Subject}
    assert len(allowed) <= 6
    with scope() as session:
        clerk = make_staff(session, "clerk")
        released = make_request(session, contact_email="released@example.test")
        advance_request(session, released, clerk, "patient_located",
                        patient=make_roster_patient(session))
        release_all(session, released, staff_actor(clerk))
        missing = make_request(session, contact_email="missing@example.test")
        advance_request(session, missing, clerk, "patient_located")
        record_outcome(session, missing, staff_actor(clerk),
                       part_ids=[p.id for p in missing.parts], outcome="no_records",
                       expected_version=None)
    subjects: dict[str, list[str]] = {}
    for mail in outbox():
        assert mail["Subject"] in allowed and "Canyon" not in mail["Subject"]
        subjects.setdefault(mail["To"], []).append(mail["Subject"])
    assert subjects["released@example.test"] == subjects["missing@example.test"]
    assert subjects["released@example.test"]  # both were told there is an update
