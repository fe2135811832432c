"""onramp: Connectors, Links and a verified commit for a cloud-interconnect backbone."""

__version__ = "0.1.0"
