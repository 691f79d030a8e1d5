"""Errors services raise. Each carries a Vietnamese message fit to show a resident or agent."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused the request; nothing was changed."""

    code = "domain_error"

    def __init__(self, message_vi: str, *, code: str | None = None) -> None:
        super().__init__(message_vi)
        self.message_vi = message_vi
        if code is not None:
            self.code = code


class NotFound(DomainError):
    code = "not_found"


class InvalidTransition(DomainError):
    code = "invalid_transition"


class DuplicateRegistration(DomainError):
    code = "duplicate_registration"

    def __init__(self, message_vi: str, *, existing_case_code: str | None) -> None:
        super().__init__(message_vi)
        self.existing_case_code = existing_case_code


class InvalidInput(DomainError):
    """One or more fields are wrong; `errors` maps each field to a Vietnamese explanation."""

    code = "invalid_input"

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors
