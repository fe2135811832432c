"""NAPALM community driver for FRR (get_network_driver("frr")): to come (issue: templates and safe deploy)."""
