"""The workbook's own errors: something asked of it that it cannot do, said in one line.

Each message names the file or the parameter at fault and what to do about it. A parameter is
named as the library's functions take it, in backquotes (`batch_size`, `resume=True`), so the
message reads right from a notebook; the command line (`cli`) shows the same parameter as its
flag (--batch-size, --resume). Every error type of the library derives from `WorkbookError`, and
also from the built-in type a caller would expect (ValueError, FileNotFoundError, ...). The command
line prints a `WorkbookError` as one line; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import re
import sys
import traceback

__all__ = [
    "WorkbookError",
    "ParameterError",
    "InputError",
    "MissingInputError",
    "MissingPackageError",
    "ExistsError",
    "as_flags",
    "flags_of",
    "failed",
]


class WorkbookError(Exception):
    """Base of the library's own errors: a request it cannot carry out, not a fault in the library."""


class ParameterError(WorkbookError, ValueError):
    """A parameter out of its range or not among its choices; the message names it and its range."""


class InputError(WorkbookError, ValueError):
    """A file or folder given to the library that is not what it should be (its content, its kind)."""


class MissingInputError(WorkbookError, FileNotFoundError):
    """A file or folder given to the library that is not there."""


class ExistsError(WorkbookError, FileExistsError):
    """A folder or file the library would write holds something else, which it will not replace."""


class MissingPackageError(WorkbookError, ImportError):
    """An optional package a feature needs is not installed; the message says how to install it."""


_PARAMETER = re.compile(r"`([a-z][a-z0-9_]*)(?:=([^`]*))?`")


def as_flags(message: str, flags: dict[str, str]) -> str:
    """`message` as a command line reads it: each `name` or `name=value` whose name is in `flags`
    (a parameter -> its flag) becomes the flag (`batch_size=512` -> --batch-size 512, `resume=True`
    -> --resume); any other backquoted text stays as it is."""

    def flag(m: re.Match) -> str:
        name, value = m.groups()
        if name not in flags:
            return m.group(0)
        return flags[name] if value in (None, "True") else f"{flags[name]} {value}"

    return _PARAMETER.sub(flag, message)


def flags_of(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Each parameter a parser's options (and its subcommands' options) set -> its long flag."""
    flags = {}
    for action in parser._actions:  # argparse keeps no public list of its options
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                flags.update(flags_of(sub))
        elif action.option_strings and action.dest != "help":
            flags.setdefault(action.dest, max(action.option_strings, key=len))
    return flags


def failed(error: Exception, flags: dict[str, str]) -> int:
    """How a command ends on `error`, printed to stderr; returns the exit status. The library's own
    errors, and running out of memory, are one line (2); anything else is a bug: its traceback (1)."""
    if isinstance(error, WorkbookError):
        print(
            f"error: {as_flags(str(error).splitlines()[0] if str(error) else type(error).__name__, flags)}",
            file=sys.stderr,
        )
        return 2
    if type(error).__name__ == "OutOfMemoryError":  # torch's, without importing torch here
        print("error: out of memory: use a smaller --batch-size (or --image-size)", file=sys.stderr)
        return 2
    traceback.print_exception(error)
    print(
        "error: the traceback above is a bug in effnet_lib or in a library it calls, not a mistake in the "
        "command; please report it with the command and the traceback",
        file=sys.stderr,
    )
    return 1
