"""Errors the services raise; the web layer maps each to one HTTP status.

Their messages are English catalog ids (or `engine.i18n.Message`s): pages show them in
the reader's language, the API in English."""

from .i18n import N_


class ServiceError(Exception):
    status = 400


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class AlreadyCompleted(ServiceError):
    status = 409

    def __init__(self, message: str = N_("This task has already been completed by someone "
                                         "else.")):
        super().__init__(message)


class AlreadyClaimed(ServiceError):
    status = 409

    def __init__(self, message: str = N_("Someone else has claimed this task in the "
                                         "meantime.")):
        super().__init__(message)


class ProcessError(ServiceError):
    """A script, condition or decision in the diagram failed; nothing was changed."""

    status = 500

    def __init__(self, message: str, element: str | None = None):
        super().__init__(message)
        self.element = element
