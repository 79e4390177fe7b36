"""SNMP under trio: pysnmp's SnmpEngine on a trio transport, and device profiles as data."""
