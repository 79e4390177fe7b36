"""Building blocks every inventory table shares."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from netwatch.units import parse_duration

Duration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]
# PagerDuty's Events API accepts exactly these four severities.
PagerDutySeverity = Literal["critical", "error", "warning", "info"]


class StrictModel(BaseModel):
    """Unknown keys are errors: a misspelled `threshhold` must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def secret_reference(name: str, value: str) -> str:
    """Routing keys, API tokens and passwords may only be named, never written down."""
    if not value.startswith(("env:", "file:")):
        raise ValueError(
            f"{name} must be a reference (env:NAME or file:PATH); "
            "never put the secret itself in the inventory"
        )
    return value
