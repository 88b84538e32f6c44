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


def number(value, digits: int = 4) -> str:
    """A number as people write it: float32's 0.000199999995 is 0.0002, 0.81737566 is 0.8174."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def default_text(value) -> str:
    """A default as --help writes it: on/off for switches, numbers as people write them."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return number(value, 6)


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """The one --help style of every CLI: `(default: X)` after the help text, once.
    A flag whose default is worked out later (argparse default None, so that the tool
    can tell "not given") sets `action.shown_default` to what --help should name; a
    switch without a value shows no default, and a help text that already says
    `(default: ...)` is kept as written."""

    def _get_help_string(self, action):
        help_text = action.help or ""
        shown = getattr(action, "shown_default", action.default)
        if "(default: " in help_text or shown is None or shown == "" or shown is argparse.SUPPRESS:
            return help_text
        if shown is False and not hasattr(action, "shown_default"):  # a store_true switch
            return help_text
        return f"{help_text} (default: {default_text(shown).replace('%', '%%')})"


class ExamplesHelpFormatter(DefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """The same defaults; the description and the examples keep their lines."""


MAX_MESSAGE = 290  # characters of one error line (a 100k-character tag text is not echoed back)


def clip(text: str, limit: int = 60) -> str:
    """`text` cut to `limit` characters (with '...'), for quoting user input in a message."""
    text = str(text)
    return text if len(text) <= limit else text[: max(limit - 3, 1)] + "..."


def one_line(message: str, limit: int = MAX_MESSAGE) -> str:
    """A message as one printable line of at most `limit` characters: newlines and
    control characters escaped, the middle cut when it is too long."""
    message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(message))
    if len(message) > limit:
        keep = (limit - 5) // 2
        message = message[:keep] + " ... " + message[-keep:]
    return message


class ArgumentParser(argparse.ArgumentParser):
    """argparse with its error line kept to one printable line under 300 characters
    (a 100k-character or control-character flag value is not echoed in full)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {one_line(message, MAX_MESSAGE - len(self.prog) - 9)}\n")


def fail(message: str) -> int:
    """Print `error: message` on stderr (one line, clipped); returns the exit status 2."""
    print(f"error: {one_line(message)}", file=sys.stderr)
    return 2


def describe(exc: BaseException) -> str:
    """One line for a user error or an OSError ('No such file or directory: x')."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc)


def _set_sigint(handler):
    """Install a SIGINT handler where that is allowed (main thread); returns the previous one."""
    import signal
    import threading

    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, handler)


def exit_on_user_error(main):
    """Decorator for a CLI's main(argv) -> int: a UserError or OSError ends as
    one line on stderr and exit status 2; Ctrl-C as one line and 130 (128 + SIGINT)."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs) -> int:
        interrupted = []

        def on_sigint(signum, frame):
            interrupted.append(signum)
            raise KeyboardInterrupt

        previous = _set_sigint(on_sigint)
        if getattr(previous, "only_while_importing", False):  # common.env's: its job ends where main starts
            import signal

            previous = signal.default_int_handler
        try:
            return main(*args, **kwargs)
        except KeyboardInterrupt:  # Ctrl-C before a tool's own handler is set (imports, loading)
            print("stopped by Ctrl-C (SIGINT)", file=sys.stderr)
            return 130
        except Exception as exc:
            if interrupted:  # e.g. TensorFlow turns a Ctrl-C during its import into an ImportError
                print("stopped by Ctrl-C (SIGINT)", file=sys.stderr)
                return 130
            if isinstance(exc, (UserError, OSError)):
                return fail(describe(exc))
            raise
        finally:
            _set_sigint(previous)

    return wrapper
