"""netwatch: a network monitor with built-in paging for small ISPs."""

__version__ = "0.1.0"
