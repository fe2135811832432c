"""The FRR digital twin of the inventory: topology (pure) and run (namespaces, daemons)."""
