"""One exception type for every mistake a user can fix.

The CLI turns it into a one-line message and a non-zero exit; anything else is a bug and may
show a traceback.
"""


class ReportgenError(Exception):
    """Bad input or environment: the message says what is wrong and what to do."""
