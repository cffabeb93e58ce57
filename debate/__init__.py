"""debate-harness: AI-safety debate and multi-agent experiments with real language models."""

__version__ = "0.1.0"
