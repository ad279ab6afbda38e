"""The one error tree of Conveyor.

    ConveyorError
    ├── NotFound (LookupError)          a dataset, version, model or alias that does not exist
    ├── InvalidInput (ValueError)       something the user gave us is wrong
    │   ├── UnreadableData              a file or source that cannot be read as a table
    │   ├── InvalidTrainingData         a table that cannot be trained on (target, classes, rows)
    │   └── InvalidRequest              a prediction request that does not match the model
    └── Conflict                        the operation clashes with what already exists

Every error carries the problem in its message and, where there is one, the fix in `hint`,
so the CLI, the API and the inference server can render it the same way.
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "ConveyorError",
    "InvalidInput",
    "InvalidRequest",
    "InvalidTrainingData",
    "NotFound",
    "UnreadableData",
]


class ConveyorError(Exception):
    """Base of every error Conveyor raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class NotFound(ConveyorError, LookupError):
    """A named thing (dataset, version, model, alias) does not exist."""


class InvalidInput(ConveyorError, ValueError):
    """Input given by the user is wrong; the message names what and the hint how to fix it."""


class UnreadableData(InvalidInput):
    """A file or source cannot be read as a table."""


class InvalidTrainingData(InvalidInput):
    """A table that cannot be trained on: unknown target, a single class, no rows left."""


class InvalidRequest(InvalidInput):
    """A prediction request that does not match the model's input contract.

    `field` names the offending input (a column or a JSON path) and `row` the row, when known.
    """

    def __init__(
        self, message: str, *, field: str | None = None, row: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.field = field
        self.row = row


class Conflict(ConveyorError):
    """The operation clashes with existing state."""
