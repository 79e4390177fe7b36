"""The inventory's `[paging]` (routing rules, links, maintenance acknowledge) and `[email]`
(the SMTP channel) tables. Both take effect on reload, unlike `[pagerduty]`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, StrictInt, field_validator

from netwatch.inventory.fields import Duration, PagerDutySeverity, StrictModel, secret_reference

URL_FIELDS = ("id", "address", "site")


class RouteRule(StrictModel):
    """One `[[paging.routes]]` entry. Every condition given must match (a list matches any
    of its values); a rule without conditions matches every device. The first matching rule
    wins; a device matching none goes to `[pagerduty] routing_key` and `[email] to`."""

    name: str | None = None  # shown in logs instead of "rule N"
    sites: list[str] | None = None
    tags: list[str] | None = None
    severities: list[PagerDutySeverity] | None = None
    routing_key: str | None = None  # env:/file: reference; omitted: the default key
    email: list[str] | None = Field(default=None, min_length=1)  # omitted: `[email] to`

    @field_validator("routing_key")
    @classmethod
    def _key_is_a_reference(cls, value: str | None) -> str | None:
        return None if value is None else secret_reference("routing_key", value)


class PagingSection(StrictModel):
    # a link to the device's own web UI in each trigger; {id}, {address} and {site} are filled in
    device_url: str | None = None
    # a device entering a maintenance window while alerting gets an acknowledge
    ack_on_maintenance: StrictBool = True
    routes: list[RouteRule] = Field(default_factory=list)

    @field_validator("device_url")
    @classmethod
    def _template_fields_known(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            value.format(**dict.fromkeys(URL_FIELDS, "x"))
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"device_url may use only {{id}}, {{address}} and {{site}} ({exc!r})"
            ) from None
        return value


class EmailSection(StrictModel):
    """SMTP: a fallback while PagerDuty fails longer than `[pagerduty] failing_threshold`,
    and with `always = true` a paging channel of its own."""

    host: str
    port: StrictInt = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: str | None = None  # env:/file: reference
    sender: str
    to: list[str] = Field(min_length=1)
    always: StrictBool = False
    fallback: StrictBool = True
    timeout: Duration = 20.0

    @field_validator("password")
    @classmethod
    def _password_is_a_reference(cls, value: str | None) -> str | None:
        return None if value is None else secret_reference("password", value)
