"""What every part of the pipeline file shares: strict models and checked names.

Unknown keys are errors and names that end up in table paths, SQL and column lists are
checked once, here, so the schema modules only say what each part of the file means.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_identifier(value: str) -> str:
    if not IDENTIFIER.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: use letters, digits and underscores, "
            "starting with a letter or underscore"
        )
    return value


# Names that end up in table paths, SQL expressions and column lists.
Identifier = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(check_identifier)]


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt key must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def describe(error: ValidationError, prefix: str = "") -> str:
    """One line per bad key, with its dotted path, for a ConfigError message; with a
    `prefix` the keys are environment variables, named as they are set (`DRIFTLINE_DEVICE`)."""
    lines = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        if location and prefix:
            lines.append(f"  {prefix}{location.upper()}: {item['msg']}")
        elif prefix:  # about several variables: the message names them
            lines.append(f"  {item['msg']}")
        else:
            lines.append(f"  {location or '(top level)'}: {item['msg']}")
    return "\n".join(lines)
