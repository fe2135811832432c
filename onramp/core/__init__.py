"""The layer everything stands on: errors, settings, secrets, the model, the store."""
