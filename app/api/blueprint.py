"""The API's blueprint: every operation has a stable operationId and documents its error codes.

    @blp.post("/bookings")
    @blp.arguments(BookingCreateSchema)
    @blp.response(201, BookingSchema)
    @operation("createBooking", NotBound, SlotNotFound, SlotFull, AlreadyBooked, NotDue)
    @require_account
    def create_booking(args): ...

`operation` records the id and the domain errors the view may raise; `route` adds what every
operation of its kind can answer (401 with a token required, 400 with parameters, 415 and
`invalid_json` with a JSON body, 404 `not_found` with an id in the path) and writes, per
status, the codes with their messages from the catalogue into the OpenAPI document. A view
without `operation` is refused when its module is imported.
"""
from __future__ import annotations

from collections.abc import Callable

from flask_smorest import Blueprint

from app.api.parsing import ApiParser
from app.domain.errors import (
    DomainError,
    InvalidJson,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)

ERROR_REF = {"$ref": "#/components/schemas/Error"}


def operation(operation_id: str, *errors: type[DomainError]) -> Callable:
    """Name the operation (`operationId`) and list the domain errors its view may raise."""

    def decorator(view):
        view._operation = (operation_id, errors)
        return view

    return decorator


def error_responses(errors: list[type[DomainError]]) -> dict[str, dict]:
    """OpenAPI responses for `errors`, by status: the codes, their messages, one example each."""
    by_status: dict[int, list[type[DomainError]]] = {}
    for cls in errors:
        if cls not in by_status.setdefault(cls.status, []):
            by_status[cls.status].append(cls)
    responses = {}
    for status, classes in sorted(by_status.items()):
        classes.sort(key=lambda c: c.code)
        responses[str(status)] = {
            "description": "；".join(f"{c.code}：{c.message}" for c in classes),
            "content": {"application/json": {"schema": ERROR_REF, "examples": {
                c.code: {"summary": c.message,
                         "value": {"error": {"code": c.code, "message": c.message, "fields": {}}}}
                for c in classes}}},
            "x-error-codes": [c.code for c in classes],
        }
    return responses


def _implied_errors(view, rule: str) -> list[type[DomainError]]:
    implied: list[type[DomainError]] = []
    if getattr(view, "_requires_account", False):
        implied.append(NotAuthenticated)
    arguments = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    if arguments:
        implied.append(ValidationFailed)
    if any(argument.get("in") == "json" for argument in arguments):
        implied += [InvalidJson, UnsupportedMediaType, PayloadTooLarge]
    if "<" in rule:
        implied.append(NotFound)
    return implied


class ApiBlueprint(Blueprint):
    """flask-smorest's Blueprint with the API's parser and documented operations."""

    ARGUMENTS_PARSER = ApiParser()

    def route(self, rule, *, parameters=None, tags=None, **options):
        register = super().route(rule, parameters=parameters, tags=tags, **options)

        def decorator(view):
            documented = getattr(view, "_operation", None)
            if documented is None:
                raise TypeError(f"{view.__qualname__}: add @operation(operationId, *errors) under the route")
            operation_id, errors = documented
            responses = error_responses([*_implied_errors(view, rule), *errors])
            return register(self.doc(operationId=operation_id, responses=responses)(view))

        return decorator
