"""Google Partner Interconnect: constraints as data (constraints.yaml); the adapter comes with the CSP issue."""
