"""The Textual terminal UI of incident-vault; it calls only :mod:`vault`."""
