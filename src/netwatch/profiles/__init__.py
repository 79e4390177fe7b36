"""Built-in device profiles: one TOML file per profile name, loaded by netwatch.snmp.profiles."""
