"""The app's screens (today one: the mail server)."""
