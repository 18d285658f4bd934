"""URL rules of the requests area: the wizard, the requester's pages, third-party downloads.

No PHI in URLs: wizard URLs name steps only; requester URLs carry surrogate ids that the
handlers check against the signed-in requester; shared links carry only a random token.
"""

from flask import Blueprint

from portal.requester import controllers as c

bp = Blueprint("requests", __name__)
bp.add_url_rule("/about", "about", c.about)
bp.add_url_rule("/request", "start", c.start)
bp.add_url_rule("/request/begin", "begin", c.begin, methods=["POST"])
bp.add_url_rule("/request/discard", "discard", c.discard, methods=["GET", "POST"])
bp.add_url_rule("/request/step/<name>", "step", c.step, methods=["GET", "POST"])
bp.add_url_rule("/request/sent", "sent", c.sent)
bp.add_url_rule("/request/sent/receipt.pdf", "sent_pdf", c.sent_pdf)
bp.add_url_rule("/my-requests", "my_requests", c.my_requests)
bp.add_url_rule("/my-requests/<int:request_id>", "detail", c.detail)
bp.add_url_rule("/my-requests/<int:request_id>/reply", "reply", c.reply, methods=["POST"])
bp.add_url_rule("/my-requests/<int:request_id>/withdraw", "withdraw", c.withdraw,
                methods=["GET", "POST"])
bp.add_url_rule("/my-requests/<int:request_id>/revoke-consent", "revoke_consent",
                c.revoke_consent, methods=["GET", "POST"])
bp.add_url_rule("/my-requests/<int:request_id>/confirm-email", "confirm_here", c.confirm_here,
                methods=["POST"])
bp.add_url_rule("/my-requests/<int:request_id>/access-code", "new_access_code",
                c.new_access_code, methods=["POST"])
bp.add_url_rule("/my-requests/<int:request_id>/consents/<int:consent_id>.pdf", "consent_copy",
                c.consent_copy)
bp.add_url_rule("/my-requests/<int:request_id>/receipt.pdf", "acknowledgement",
                c.acknowledgement)
bp.add_url_rule("/my-requests/<int:request_id>/downloads/<int:grant_id>", "download",
                c.download)
bp.add_url_rule("/my-requests/<int:request_id>/files/<int:document_id>", "attachment",
                c.attachment)
bp.add_url_rule("/shared/<token>", "shared_download", c.shared_download,
                methods=["GET", "POST"])
