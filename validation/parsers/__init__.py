"""Genie-shaped parsers for what Genie has no parser for (FRR), normalized to one schema
per command so the checks read the same data whatever the platform."""
