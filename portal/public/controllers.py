"""Public pages: the home page and the information a visitor needs before asking."""

from flask import render_template

from portal.accounts.permissions import public


@public
def home():
    """The closure, and the two things a visitor can do."""
    return render_template("public/home.html")
