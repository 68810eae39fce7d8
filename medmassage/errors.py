"""The few error types the CLI turns into one-line messages.

Domain code raises these; the CLI edge prints them and picks the exit code.
Messages name the field, the value and what is allowed, and never carry more
client data than the user just typed.
"""

from __future__ import annotations


class MedmassageError(Exception):
    """Base class: an expected failure with a message fit for the user."""

    exit_code = 1


class Withheld:
    """The value of an InputError that must not be repeated: note text (even the user's own,
    just typed: messages end up in terminals' scrollback, logs and bug reports). The message
    shows its size; the error says which character or rule is at fault and where."""

    def __init__(self, size: int, unit: str = "characters") -> None:
        self.size = size
        self.unit = unit

    def __repr__(self) -> str:
        return f"(text not shown, {self.size:,} {self.unit})"


class InputError(MedmassageError):
    """Bad input or usage: nothing was written. Exit code 2."""

    exit_code = 2

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        shown = "(missing)" if value is None or value == "" else repr(value)
        super().__init__(f"{field}: {shown} — {allowed}")


class RuleRefused(MedmassageError):
    """A clinical or billing rule forbids the action (e.g. workers' comp past the Rx end date).

    Bad input in the wide sense: exit code 2, nothing written.
    """

    exit_code = 2


class RuntimeProblem(MedmassageError):
    """Something outside the user's input went wrong (locked database, disk). Exit code 1."""

    exit_code = 1
