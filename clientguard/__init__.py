"""clientguard: use AI coding agents on a client's code within the client's contract."""

__version__ = "0.1.0"
