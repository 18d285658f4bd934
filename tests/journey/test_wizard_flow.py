"""The request wizard as an object, without HTTP: each action says where the page goes next,
and what a refused answer needs is kept in the draft (post, redirect, get)."""

from __future__ import annotations

import re

import pytest
from werkzeug.datastructures import MultiDict

from portal.core.actor import SYSTEM
from portal.requester import drafts, flow, wizard
from tests.journey.samples import EXECUTOR_ANSWERS, PATIENT_ANSWERS, step_answers


@pytest.fixture
def opened(scope):
    """A function giving the draft's wizard inside a unit of work (as one page view would)."""
    with scope() as session:
        _row, token = drafts.create_draft(session)

    def open_draft(session):
        return flow.RequestWizard.open(session, token, SYSTEM)

    return open_draft


def _form(values: dict) -> MultiDict:
    return MultiDict([(k, v) for k, items in values.items()
                      for v in (items if isinstance(items, list) else [items])])


def _answer_all(wiz, answers: dict, until: str) -> None:
    name = wizard.STEPS[0].name
    while name != until:
        assert name != "documents", "the flow tests stop before the uploads"
        outcome = wiz.save_answer(name, _form(step_answers(answers, name)))
        assert outcome.to not in (None, name), (name, outcome)
        name = outcome.to


def test_a_good_answer_leads_to_the_next_step_that_applies(scope, opened):
    with scope() as session:
        wiz = opened(session)
        assert wiz.save_answer("kind", _form(PATIENT_ANSWERS["kind"])) == flow.Next("who")
        assert wiz.save_answer("who", _form(PATIENT_ANSWERS["who"])) == flow.Next("patient")


def test_a_refused_answer_returns_to_its_step_and_the_draft_keeps_it_and_why(scope, opened):
    with scope() as session:
        wiz = opened(session)
        _answer_all(wiz, PATIENT_ANSWERS, until="patient")
        typed = {**PATIENT_ANSWERS["patient"], "dob": "2090-01-01"}
        assert wiz.save_answer("patient", _form(typed)) == flow.Next("patient")
    with scope() as session:  # the next page view: a new unit of work, the same draft
        wiz = opened(session)
        form = wiz.form("patient")
        assert form.dob.data is not None and form.dob.errors
        assert form.first_name.data == PATIENT_ANSWERS["patient"]["first_name"]
        assert "patient" not in wiz.answers["done"]


def test_a_corrected_answer_clears_the_problem(scope, opened):
    with scope() as session:
        wiz = opened(session)
        _answer_all(wiz, PATIENT_ANSWERS, until="patient")
        wiz.save_answer("patient", _form({**PATIENT_ANSWERS["patient"], "dob": "2090-01-01"}))
        assert wiz.save_answer("patient", _form(PATIENT_ANSWERS["patient"])) == flow.Next(
            "contact")
    with scope() as session:
        wiz = opened(session)
        assert wiz.answers["invalid"] == [] and not wiz.form("patient").errors


def test_back_keeps_what_was_typed_unchecked_and_shows_no_problem(scope, opened):
    with scope() as session:
        wiz = opened(session)
        _answer_all(wiz, PATIENT_ANSWERS, until="patient")
        outcome = wiz.save_answer("patient", _form({"first_name": "Av"}), action="back")
        assert outcome == flow.Next("who")
        assert wiz.answers["steps"]["patient"]["first_name"] == ["Av"]
        assert not wiz.form("patient").errors


def test_an_autosave_goes_nowhere(scope, opened):
    with scope() as session:
        wiz = opened(session)
        assert wiz.save_answer("kind", _form({"kind": "copies"}), action="save") == flow.Next(None)


def test_a_step_not_yet_reached_sends_to_the_first_one_not_done(scope, opened):
    with scope() as session:
        wiz = opened(session)
        assert wiz.gate("sign", posting=False) == flow.Next("kind")
        assert wiz.gate("kind", posting=False) is None


def test_the_step_count_follows_the_answers_and_moves_one_at_a_time(scope, opened):
    """Each answer moves the position by one; the total changes only with the answer that
    adds or removes steps (someone else receives the records: recipient and consent)."""
    with scope() as session:
        wiz = opened(session)
        name, seen = wizard.STEPS[0].name, []
        while name != "documents":
            seen.append((name, wiz.steps.index(name) + 1, len(wiz.steps)))
            following = wiz.save_answer(name, _form(step_answers(EXECUTOR_ANSWERS, name))).to
            assert following != name, (name, wiz.answers["invalid"])
            name = following
        positions = [position for _name, position, _total in seen]
        assert positions == list(range(1, len(seen) + 1))
        totals = [total for _name, _position, total in seen]
        changes = [seen[i][0] for i in range(1, len(seen)) if totals[i] != totals[i - 1]]
        # Right after the answers that add steps: a representative (their authority), then
        # someone else receiving the records (the recipient and the consent).
        assert changes == ["authority", "method"]


def test_sending_with_a_step_that_no_longer_checks_out_returns_to_it(scope, opened):
    with scope() as session:
        wiz = opened(session)
        _answer_all(wiz, PATIENT_ANSWERS, until="documents")
        wiz.answers["done"] += ["documents", "review"]
        wiz.answers["steps"]["patient"]["dob"] = ["2090-01-01"]
        outcome = wiz.submit("Avery Quill", None)
        assert outcome.to == "patient" and outcome.message
        assert wiz.answers["invalid"] == ["patient"]


@pytest.mark.parametrize("answers", ["patient", "executor"])
def test_the_progress_count_never_changes_and_never_goes_back(wizard, answers):
    """#15: "Step 7 of 11" became "Step 8 of 14" mid-way; parts are counted instead, always
    five, in order along every path."""
    chosen = PATIENT_ANSWERS if answers == "patient" else EXECUTOR_ANSWERS
    slots = ("photo_id",) if answers == "patient" else ("photo_id", "authority_proof",
                                                        "death_certificate")
    seen = []
    response = wizard.begin()
    while True:
        step = response.headers["Location"].rsplit("/", 1)[-1]
        page = wizard.get(step).get_data(as_text=True)
        found = re.search(r"Part (\d) of (\d):", page)
        assert found, (step, page[:3000])
        seen.append((int(found[1]), int(found[2])))
        if step == "sign":
            break
        if step == "documents":
            response = wizard.upload_documents(slots)
        elif step == "review":
            response = wizard.post("review")
        else:
            response = wizard.post(step, step_answers(chosen, step))
            assert response.headers["Location"].rsplit("/", 1)[-1] != step, step
    assert {total for _part, total in seen} == {5}
    parts = [part for part, _total in seen]
    assert parts == sorted(parts) and parts[0] == 1 and parts[-1] == 5
    assert (4 in parts) == (answers == "executor")


def test_a_draft_saved_before_a_question_moved_keeps_its_answer(scope, opened):
    """A draft from before one question per page: its representative's name, program, record
    dates and way of sending are carried to their new pages, finished where the old page was."""
    with scope() as session:
        wiz = opened(session)
        wiz.answers["steps"].update({
            "who": {"requester_type": ["executor"], "requester_name": ["Jordan Quill"],
                    "authority_description": ["Executor, appointed 2025"]},
            "stay": {"program": ["residential"]},
            "delivery": {"recipient_type": ["patient"], "delivery": ["mail"]},
        })
        wiz.answers["done"] = ["kind", "who", "stay"]
        wizard.carry_moved_answers(wiz.answers)
        steps = wiz.answers["steps"]
        assert steps["authority"] == {"requester_name": ["Jordan Quill"],
                                      "authority_description": ["Executor, appointed 2025"]}
        assert steps["who"] == {"requester_type": ["executor"]}
        assert steps["program"] == {"program": ["residential"]}
        assert steps["method"] == {"delivery": ["mail"]}
        assert {"authority", "program"} <= set(wiz.answers["done"])
        assert "method" not in wiz.answers["done"]  # its old page was never finished
        assert wizard.next_step(wiz.answers) == "patient"
