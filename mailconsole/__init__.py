"""mailconsole: outgoing mail set-up for appliances, on a terminal and headless."""

__version__ = "0.1.0"
