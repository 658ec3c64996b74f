"""The plan engine: desired state + database -> Plan; the only writer of configuration."""
