"""One exception type for every mistake a user can make.

The CLI turns a :class:`UserError` into one line on stderr and exit code 2; anything
else is a bug and keeps its traceback.
"""


class UserError(ValueError):
    """Bad input: the message is one line that says what is wrong and how to fix it."""
