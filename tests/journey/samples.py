"""Sample uploads and a wizard driver for the patient-journey tests."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pikepdf
from PIL import Image

from portal.rules.deadlines import today_pacific

# The answers of a patient asking for their own complete record by download.
PATIENT_ANSWERS: dict[str, dict] = {
    "kind": {"kind": "copies"},
    "who": {"requester_type": "patient"},
    "patient": {"first_name": "Avery", "last_name": "Quill", "other_names": "Avery Stone",
                "dob": "1980-04-12", "ssn_last4": ""},
    "contact": {"email": "avery.quill@example.test", "email_confirm": "avery.quill@example.test",
                "phone": "(555) 010-1234", "address_line1": "12 Canyon Road",
                "address_line2": "", "address_city": "Springfield", "address_state": "CA",
                "address_postal_code": "90000"},
    "stay": {"stay_from": "2016-03-01", "stay_to": "2016-04-01", "program": "residential"},
    "records": {"scope": "complete"},
    "delivery": {"recipient_type": "patient", "delivery": "download"},
    "purpose": {"purpose": "personal"},
}


def step_answers(answers: dict, step: str) -> dict:
    """What to post on ``step``: its own answers, or, for a question that moved to a page of its
    own, the answers of the page that used to ask it (a step ignores fields it does not ask)."""
    from portal.requester.wizard import MOVED_ANSWERS

    if step in answers:
        return answers[step]
    old = next((old for old, new in MOVED_ANSWERS.values() if new == step), None)
    return answers.get(old, {})


def with_date(answers: dict, name: str, iso: str, *, day: bool = True) -> dict:
    """A step's answers with date ``name`` typed in its boxes (month, day, year) as a browser
    posts them; ``iso`` is YYYY-MM-DD, "" for boxes left empty."""
    year, month, dom = iso.split("-") if iso else ("", "", "")
    boxes = {f"{name}-month": str(int(month)) if month else "", f"{name}-year": year}
    if day:
        boxes[f"{name}-day"] = str(int(dom)) if dom else ""
    return {**{k: v for k, v in answers.items() if k != name}, **boxes}


def consent_answers(name: str = "Avery Quill", days: int = 180) -> dict:
    """A consent step: an end date `days` ahead, signed and agreed."""
    return {"expires_on": (today_pacific() + timedelta(days=days)).isoformat(),
            "consent_name": name, "agree": "y"}


# An executor sends a deceased patient's records to a lawyer by link and access code.
EXECUTOR_ANSWERS: dict[str, dict] = {
    **PATIENT_ANSWERS,
    "who": {"requester_type": "executor", "requester_name": "Jordan Quill",
            "authority_description": "Executor, appointed by the Superior Court on 3 March 2025"},
    "contact": {**PATIENT_ANSWERS["contact"], "email": "jordan.quill@example.test",
                "email_confirm": "jordan.quill@example.test"},
    "delivery": {"recipient_type": "third_party", "delivery": "download"},
    "recipient": {"recipient_kind": "lawyer",
                  "recipient_name": "Morgan Lee", "recipient_organisation": "Lee & Park LLP",
                  "recipient_address": "100 Main St\nSpringfield, CA 90000",
                  "recipient_email": "morgan.lee@example.test",
                  "recipient_email_confirm": "morgan.lee@example.test"},
    "purpose": {"purpose": "legal"},
    "consent": consent_answers("Jordan Quill"),
}


def jpeg_bytes(*, size=(64, 48), gps: bool = False) -> bytes:
    """A small JPEG photo, optionally carrying an EXIF GPS position and camera model."""
    image = Image.new("RGB", size, (120, 80, 40))
    out = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[0x0110] = "Test Camera Model"  # Model
        gps_ifd = {1: "N", 2: (34.0, 5.0, 0.0), 3: "W", 4: (118.0, 45.0, 0.0)}
        exif[0x8825] = gps_ifd
        image.save(out, format="JPEG", exif=exif)
    else:
        image.save(out, format="JPEG")
    return out.getvalue()


def png_bytes(size=(32, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(out, format="PNG")
    return out.getvalue()


def pdf_bytes(pages: int = 1, *, password: str | None = None) -> bytes:
    """A small valid PDF (optionally encrypted with a user password)."""
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(612, 792))
    out = io.BytesIO()
    if password:
        pdf.save(out, encryption=pikepdf.Encryption(user=password, owner=password))
    else:
        pdf.save(out)
    return out.getvalue()


def png_bomb_bytes(side: int = 10_000) -> bytes:
    """A tiny PNG that claims 100 megapixels (a decompression bomb)."""
    out = io.BytesIO()
    Image.new("1", (side, side), 0).save(out, format="PNG", optimize=True)
    return out.getvalue()


EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 512


class Wizard:
    """Drives the request wizard through the test client, one step at a time."""

    def __init__(self, client):
        self.client = client

    def begin(self):
        return self.client.post("/request/begin", data={"action": "new"})

    def post(self, step: str, data: dict | None = None, files: dict | None = None,
             action: str = "next"):
        form = {**(data or {}), "action": action}
        if files:
            form.update({slot: (io.BytesIO(content), name)
                         for slot, (name, content) in files.items()})
            return self.client.post(f"/request/step/{step}", data=form,
                                    content_type="multipart/form-data")
        return self.client.post(f"/request/step/{step}", data=form)

    def get(self, step: str):
        return self.client.get(f"/request/step/{step}")

    def refused(self, step: str, data: dict | None = None, files: dict | None = None,
                action: str = "next"):
        """POST an answer the step refuses: the wizard redirects back to the same step (the
        problems and what was typed are kept in the draft), and that page shows them."""
        response = self.post(step, data, files, action)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        assert response.headers["Location"].endswith(f"/request/step/{step}")
        page = self.client.get(response.headers["Location"])
        assert page.status_code == 200
        return page

    def upload_documents(self, slots=("photo_id",)):
        files = {slot: (f"{slot}.jpg", jpeg_bytes()) for slot in slots}
        return self.post("documents", files=files)

    def fill(self, answers: dict, *, until: str | None = None, slots=("photo_id",)):
        """Answer every step in the order the wizard asks, stopping before `until`."""
        response = self.begin()
        while True:
            step = response.headers["Location"].rsplit("/", 1)[-1]
            if step == (until or "sign"):
                return response
            if step == "documents":
                response = self.upload_documents(slots)
            elif step == "review":
                response = self.post("review")
            else:
                response = self.post(step, step_answers(answers, step))
            assert response.status_code == 302, (step, response.get_data(as_text=True)[:3000])
            if response.headers["Location"].rsplit("/", 1)[-1] == step:  # refused: say why
                page = self.client.get(response.headers["Location"]).get_data(as_text=True)
                raise AssertionError(f"the {step} step refused its answers: "
                                     + " | ".join(re.findall(r'class="error-message"[^>]*>'
                                                             r'(?:<span[^>]*>[^<]*</span>)?'
                                                             r'\s*([^<]+)', page)))

    def sign(self, name: str = "Avery Quill"):
        return self.post("sign", {"signature_name": name, "attest": "y"})

    def submit(self, answers: dict, *, slots=("photo_id",), name: str = "Avery Quill"):
        """Complete and send a request; returns the response of the sign POST."""
        self.fill(answers, slots=slots)
        return self.sign(name)
