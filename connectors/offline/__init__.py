"""The offline-gifts connector: CSV or JSON-lines files of gifts and contacts (cash, bank transfers, exports)."""
