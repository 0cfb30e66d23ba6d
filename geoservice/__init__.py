"""The engine and the service: workspace store, analysis, workflow, CLI and HTTP API."""

__version__ = "0.1.0"
