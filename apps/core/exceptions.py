from __future__ import annotations


class ApplicationError(Exception):
    """The one error services raise for a request they refuse.

    ``message`` is written for the person who asked; ``field_errors`` names the fields at
    fault (``{"field": ["message"]}``) when the refusal is about particular input. The DRF
    exception handler turns it into a 400 (or ``status``), the htmx error partial into a
    message on the page.
    """

    status: int = 400

    def __init__(
        self,
        message: str,
        *,
        field_errors: dict[str, list[str]] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}
        if status is not None:
            self.status = status
