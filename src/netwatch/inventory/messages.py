"""Pydantic's validation errors in the words of someone editing devices.toml."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic_core import ErrorDetails

# Patterns the schema uses, explained (pydantic would print the regex).
_PATTERN_MESSAGES = {
    "id": "id may contain letters, digits and . _ : / @ - and must start with a letter or digit",
    "name": "a metric name may contain lowercase letters, digits, _ and -, must start with a"
    " letter and be at most 63 characters",
}

_TYPE_MESSAGES = {
    "string_type": "must be a string in quotes",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": 'must be a list, like ["a", "b"]',
    "tuple_type": 'must be a list, like ["a", "b"]',
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "datetime_type": "must be a date and time, like 2025-03-01T04:00:00Z",
    "datetime_parsing": "must be a date and time, like 2025-03-01T04:00:00Z",
}


def field_path(location: Sequence[int | str]) -> str:
    """`paging.routes[2].routing_key`: list positions counted from 1, as people count
    `[[...]]` blocks."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part + 1}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def people_message(error: ErrorDetails) -> str:
    kind = error["type"]
    context = error.get("ctx") or {}
    names = [part for part in error["loc"] if isinstance(part, str)]
    key = names[-1] if names else "value"
    if kind == "extra_forbidden":
        return "unknown key (misspelled?)"
    if kind == "missing":
        return f"{key} is required"
    if kind == "string_pattern_mismatch":
        return _PATTERN_MESSAGES.get(key, f"{key} does not have the expected form")
    if kind == "literal_error":
        return f"must be {context.get('expected', 'one of the listed values')}"
    if kind in _TYPE_MESSAGES:
        return _TYPE_MESSAGES[kind]
    if kind == "string_too_short" and context.get("min_length") == 1:
        return f"{key} must not be empty"
    if kind == "string_too_long":
        return f"{key} must be at most {context.get('max_length')} characters"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {
            "greater_than_equal": ("at least", "ge"),
            "greater_than": ("more than", "gt"),
            "less_than_equal": ("at most", "le"),
            "less_than": ("less than", "lt"),
        }[kind]
        return f"must be {bound[0]} {context.get(bound[1])}"
    message = error["msg"].removeprefix("Value error, ")
    return (
        "must be " + message.removeprefix("Input should be ")
        if message.startswith("Input should be ")
        else message
    )
