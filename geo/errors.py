"""The one exception `geo/` raises for bad input, so the API can map it to a typed GraphQL error."""


class GeoValidationError(ValueError):
    """Input coordinates, boundaries or cells that a person sent and must fix.

    `code` is stable and machine-readable (the API maps it onto its error enum);
    `message` is plain English naming the offending value, safe to show to the sender.
    Subclassing `ValueError` keeps it catchable by callers that do not know this module.
    """

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"GeoValidationError(code={self.code!r}, message={self.message!r})"
