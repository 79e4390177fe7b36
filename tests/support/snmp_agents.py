"""Test fixtures: snmp_agents (real agents/servers started by the tests themselves)."""
