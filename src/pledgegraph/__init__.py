"""pledgegraph: a cited linked-data graph of militant organizations, provinces, leaders and pledges."""

__version__ = "0.1.0"
