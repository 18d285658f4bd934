"""Requester pages in plain language (#15 part 2): the Flesch-Kincaid grade of each page's
visible prose is 8 or below, by textstat.

Left out, as readers skim rather than read them: headings, blocks of fewer than five words
(labels, buttons, short list items, names), and statements marked `class="legal"` (consent and
notice wording whose terms the law sets). Only pages with at least 100 words left are graded.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import textstat

from tests.factories import advance_request, make_request, make_requester
from tests.journey.clerk import ask_for_information, clerk
from tests.journey.samples import EXECUTOR_ANSWERS, PATIENT_ANSWERS, Wizard, step_answers

MAX_GRADE = 8.0
MIN_WORDS = 100
BLOCKS = {"p", "li", "dd", "dt", "td", "th", "label", "legend", "summary", "figcaption",
          "div", "button", "a", "blockquote", "caption", "option"}
SKIPPED = {"script", "style", "h1", "h2", "h3", "h4", "h5", "h6", "title", "head", "textarea",
           "select"}


class _Prose(HTMLParser):
    """The page's visible text, block by block, without headings and marked legal text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._open: list[tuple[str, bool]] = []  # (tag, skipped)
        self._text: list[str] = []

    def _skipping(self) -> bool:
        return any(skipped for _tag, skipped in self._open)

    def handle_starttag(self, tag, attrs):
        if tag in {"br", "input", "img", "meta", "link", "hr", "source", "col", "wbr"}:
            return
        classes = (dict(attrs).get("class") or "").split()
        if tag in BLOCKS:
            self._flush()
        self._open.append((tag, tag in SKIPPED or "legal" in classes))

    def handle_endtag(self, tag):
        if tag in BLOCKS:
            self._flush()
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index][0] == tag:
                del self._open[index:]
                break

    def handle_data(self, data):
        if not self._skipping():
            self._text.append(data)

    def _flush(self):
        text = " ".join("".join(self._text).split())
        self._text = []
        if len(text.split()) >= 5:
            self.blocks.append(text if text[-1] in ".?!:" else text + ".")

    def close(self):
        super().close()
        self._flush()


def prose(html: str) -> str:
    parser = _Prose()
    parser.feed(html)
    parser.close()
    return "\n".join(parser.blocks)


def grade(html: str) -> tuple[float | None, int]:
    """(Flesch-Kincaid grade, words) of a page's graded prose; None below MIN_WORDS."""
    text = prose(html)
    words = len(re.findall(r"[A-Za-z’']+", text))
    if words < MIN_WORDS:
        return None, words
    textstat.set_lang("en_US")
    return textstat.flesch_kincaid_grade(text), words


def _requester_pages(app, client, scope, auth) -> dict[str, str]:
    pages: dict[str, str] = {}

    def get(name: str, path: str, c=client):
        response = c.get(path)
        assert response.status_code == 200, (name, response.status_code)
        pages[name] = response.get_data(as_text=True)

    for path in ("/", "/about", "/who-can-ask", "/timelines", "/fees", "/identity-checks",
                 "/by-mail", "/privacy", "/contact", "/request", "/sign-in",
                 "/sign-in/check-your-email", "/sign-in/lost-email", "/confirmed"):
        get(path, path)
    # Every wizard step, on the patient's path and on an executor's to a lawyer.
    for answers, slots in ((PATIENT_ANSWERS, ("photo_id",)),
                           (EXECUTOR_ANSWERS, ("photo_id", "authority_proof",
                                               "death_certificate"))):
        other = app.test_client()
        walk = Wizard(other)
        response = walk.begin()
        while True:
            step = response.headers["Location"].rsplit("/", 1)[-1]
            get(f"step {step} ({answers['who']['requester_type']})", f"/request/step/{step}",
                other)
            if step == "sign":
                break
            if step == "documents":
                response = walk.upload_documents(slots)
            elif step == "review":
                response = walk.post("review")
            else:
                response = walk.post(step, step_answers(answers, step))
            assert response.headers["Location"].rsplit("/", 1)[-1] != step, f"{step} refused"
        get("discard", "/request/discard", other)
        walk.sign("Avery Quill" if answers is PATIENT_ANSWERS else "Jordan Quill")
        get(f"sent ({answers['who']['requester_type']})", "/request/sent", other)
    # A signed-in requester's pages: the list, a request waiting for an answer, the forms.
    with scope() as session:
        requester = make_requester(session)
        req = make_request(session, requester)
        staff, actor = clerk(session)
        advance_request(session, req, staff, "identity_review")
        ask_for_information(session, req, actor, "Please send a clearer photo of your ID.")
        request_id = req.id
    auth.requester(requester.id)
    get("my requests", "/my-requests")
    get("request page", f"/my-requests/{request_id}")
    get("withdraw", f"/my-requests/{request_id}/withdraw")
    return pages


@pytest.mark.once
def test_requester_pages_read_at_grade_8_or_below(app, client, scope, auth):
    pages = _requester_pages(app, client, scope, auth)
    graded = {name: grade(html) for name, html in pages.items()}
    for name, (level, words) in sorted(graded.items()):
        print(f"{name:40} {words:5} words  grade {level}")
    too_hard = {name: level for name, (level, _words) in graded.items()
                if level is not None and level > MAX_GRADE}
    assert not too_hard, too_hard
    assert sum(level is not None for level, _ in graded.values()) >= 10  # enough was graded


@pytest.mark.once
def test_the_grade_tells_plain_words_from_hard_ones():
    plain = "<p>" + ("We got your request. We will send your records soon. Call us if you "
                     "need help. ") * 8 + "</p>"
    hard = "<p>" + ("Notwithstanding the aforementioned considerations, the custodian's "
                    "determination regarding disclosure necessitates comprehensive "
                    "documentation of authorization. ") * 8 + "</p>"
    assert grade(plain)[0] <= MAX_GRADE < grade(hard)[0]
    legal = '<p class="legal">' + hard[3:-4] + "</p><h2>" + hard[3:-4] + "</h2>"
    assert grade(legal) == (None, 0)
