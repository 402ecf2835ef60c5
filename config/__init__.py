"""Settings model, validation and the crash-safe TOML store.  Never imports textual."""
