"""Enterprise cross-connects: constraints as data (constraints.yaml). No adapter: there is no
provider to call (`adapter: {calls: none}`), only our routers."""
