"""Cloud provider adapters: one package per provider, its constraints as data beside it."""
