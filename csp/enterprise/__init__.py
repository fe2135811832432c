"""Enterprise cross-connects: constraints as data (constraints.yaml)."""
