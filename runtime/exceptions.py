"""The base of the errors the edges report to a person instead of a traceback."""


class HotlineError(Exception):
    """An expected, explained failure: views turn it into HTTP, TwiML or a CLI message."""
