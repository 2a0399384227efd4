class DomainError(Exception):
    """Base class for rule violations the edges turn into HTTP or TwiML."""


class UnknownService(DomainError):
    def __init__(self, code: str):
        super().__init__(f"unknown service {code!r}")
        self.code = code


class UnknownTier(DomainError):
    def __init__(self, code: str):
        super().__init__(f"unknown tier {code!r}")
        self.code = code


class UsageRefused(DomainError):
    """A step the usage rules do not allow for a case (``code`` says which rule)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
