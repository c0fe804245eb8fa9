"""The CiviCRM connector: contacts, contributions, monthly donors, soft credits, groups and privacy over API v4."""
