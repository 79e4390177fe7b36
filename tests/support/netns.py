"""Test fixtures: netns (real agents/servers started by the tests themselves)."""
