"""The REST API (`/v1`), its keys and the Portal it serves."""
