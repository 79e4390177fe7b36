"""Maintenance windows as written in the inventory: one-off (start/end) or weekly, always in an
explicit time zone, so "Tuesday 02:00" means the same thing the operator meant all year long."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from netwatch.units import parse_duration

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = {
    full: full[:3]
    for full in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
}


def check_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as 'Europe/Berlin')"
        ) from None
    return name


TimeZoneName = Annotated[str, BeforeValidator(check_time_zone)]


class MaintenanceWindow(BaseModel):
    """`start`/`end` (one-off) or `days` + `at` + `duration` (weekly). A one-off `start`
    without a UTC offset and every weekly window need `time_zone`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "maintenance"
    time_zone: TimeZoneName | None = None
    start: datetime | None = None
    end: datetime | None = None
    days: tuple[Weekday, ...] | None = None
    at: time | None = None
    duration: Annotated[float, BeforeValidator(parse_duration), Field(gt=0)] | None = None
    include_children: StrictBool = False

    @field_validator("days", mode="before")
    @classmethod
    def _lower_case_days(cls, days: object) -> object:
        if isinstance(days, list | tuple):
            return tuple(
                _FULL_DAY_NAMES.get(d.lower(), d.lower()) if isinstance(d, str) else d for d in days
            )
        return days

    @model_validator(mode="after")
    def _one_shape(self) -> MaintenanceWindow:
        one_off = self.start is not None or self.end is not None
        weekly = self.days is not None or self.at is not None or self.duration is not None
        if one_off and weekly:
            raise ValueError("a window is either start/end or days/at/duration, not both")
        if one_off:
            if self.start is None or self.end is None:
                raise ValueError("a one-off window needs both start and end")
            for moment in (self.start, self.end):
                if moment.tzinfo is None and self.time_zone is None:
                    raise ValueError(
                        "start/end without a UTC offset need time_zone (e.g. 'Europe/Berlin')"
                    )
            if self.start_epoch() >= self.end_epoch():
                raise ValueError("end must be after start")
            return self
        if not weekly:
            raise ValueError("a window needs start/end, or days/at/duration")
        if not self.days or self.at is None or self.duration is None:
            raise ValueError("a weekly window needs days, at and duration")
        if self.time_zone is None:
            raise ValueError("a weekly window needs time_zone (e.g. 'Europe/Berlin')")
        if self.at.tzinfo is not None:
            raise ValueError("`at` is a local time of day; put the zone in time_zone")
        return self

    def zone(self) -> ZoneInfo | None:
        return ZoneInfo(self.time_zone) if self.time_zone else None

    def start_epoch(self) -> float:
        assert self.start is not None
        return _epoch(self.start, self.zone())

    def end_epoch(self) -> float:
        assert self.end is not None
        return _epoch(self.end, self.zone())


def _epoch(moment: datetime, zone: ZoneInfo | None) -> float:
    if moment.tzinfo is None:
        assert zone is not None
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()
