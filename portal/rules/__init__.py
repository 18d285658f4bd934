"""Domain rules, free of Flask: lifecycle, deadlines, fees, consent validity, roster match."""


def N_(text: str) -> str:  # noqa: N802  (the conventional gettext_noop name)
    """Mark a constant for translation without translating it here (babel.cfg extracts N_).

    Rule modules know nothing of the request's language; pages translate these values with
    gettext when they show them.
    """
    return text
