"""Every error Driftline raises on purpose lives here.

One module so that callers (the CLI, Airflow callbacks, tests) can catch `DriftlineError`
and know the message was written for a person: it names the thing that is wrong and says
what to do about it.
"""

from __future__ import annotations

import re


class DriftlineError(Exception):
    """Base class: the message is meant to be read by the person running the pipeline."""


class ConfigError(DriftlineError):
    """A setting or a key of `driftline.yaml` is missing or invalid."""


class SourceError(DriftlineError):
    """An input file or extract cannot be read at all."""


class TableNotFoundError(DriftlineError):
    """A step asked for a Delta table (or a version of one) that does not exist."""


class LakeWriteError(DriftlineError):
    """A write to a Delta table could not be committed; the table is left as it was."""


class ValidationFailedError(DriftlineError):
    """A batch broke an expectation of severity `block`: downstream steps must not run."""


class ModelNotFoundError(DriftlineError):
    """The registry has no model version for the requested name and alias."""


class ScoringError(DriftlineError):
    """Scoring produced values that must not be written (NaN, infinite)."""


class SparkUnavailableError(DriftlineError):
    """The Spark Connect server a step is to use does not answer (it may be restarting, so
    the task's retries apply)."""


class StepFailedError(DriftlineError):
    """A step run as its own Spark application failed; the message is the job's own."""


# Failures that a retry cannot fix: an Airflow task fails at once instead of retrying.
PERMANENT_ERRORS: tuple[type[DriftlineError], ...] = (ConfigError, ValidationFailedError)


_PASSWORD_IN_URL = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)\S+@")


def redact(text: str) -> str:
    """`text` with the password of every URL in it masked (`scheme://user:***@host`; up to the
    last `@` before a space, as a password may hold one unencoded), for
    messages that may quote a database URL or a child process's output."""
    return _PASSWORD_IN_URL.sub(r"\g<head>***@", text)
