"""Fixtures that start real agents live in tests/support/, one module per area."""

pytest_plugins = [
    "support.snmp_agents",
    "support.netns",
    "support.pagerduty",
    "support.radio",
    "support.smtp",
]
