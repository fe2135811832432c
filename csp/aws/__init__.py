"""AWS Direct Connect: constraints as data (constraints.yaml); the adapter comes with the CSP issue."""
