"""One --help style and one error exit for every CLI of the toolkit.

Every failure a user can cause (bad flags, tags, data, run folders, models)
raises a `UserError` subclass whose message is written for the user, or an
OSError from the file system; `exit_on_user_error` turns either into one line
on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import functools
import sys


class UserError(ValueError):
    """Base of every error whose message is fit to show a user as-is
    (TagError, ConfigError, RunDirError, ModelError, ReportError, ...)."""


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a flag's default only when it has one worth reading (not None or
    False) and its help text does not already state it."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def fail(message: str) -> int:
    """Print `error: message` on stderr; returns the exit status 2."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def describe(exc: BaseException) -> str:
    """One line for a user error or an OSError ('No such file or directory: x')."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc)


def exit_on_user_error(main):
    """Decorator for a CLI's main(argv) -> int: a UserError or OSError ends as
    one line on stderr and exit status 2."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs) -> int:
        try:
            return main(*args, **kwargs)
        except (UserError, OSError) as exc:
            return fail(describe(exc))

    return wrapper
