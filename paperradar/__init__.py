"""paperradar: a self-hosted research radar for new arXiv papers."""

__version__ = "0.1.0"
