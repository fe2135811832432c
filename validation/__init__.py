"""pyATS aetest scripts and Genie-style parsers for FRR: to come (issue: orchestration, the pyATS gate)."""
