"""Test fixtures: pagerduty (real agents/servers started by the tests themselves)."""
