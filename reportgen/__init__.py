"""reportgen: explain why two text classifiers disagree, one token at a time."""

__version__ = "0.1.0"
