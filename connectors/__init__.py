"""Built-in connectors: one plugin per outside system."""
