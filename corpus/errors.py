"""Mistakes a user can fix. The CLI prints their message (no traceback) and exits with status 2."""


class UsageError(Exception):
    """Base: the message is meant for the person running the command."""


class ConfigError(UsageError, ValueError):
    """A config that cannot be used: unknown key, wrong type, unknown stage or preset."""


class InputError(UsageError, ValueError):
    """An input that cannot be read at all (no match, not a dataset, unknown format)."""


class OutputError(UsageError, RuntimeError):
    """An output location or runner setting that cannot be used (exists, not writable, unsafe mode)."""
