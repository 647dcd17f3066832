"""reportgen: explain why two text classifiers disagree, one token at a time.

`reportgen.explain(...)` is the notebook API (see `reportgen.api`); it is imported on first use,
so `import reportgen` stays cheap for the command line.
"""

__version__ = "0.2.0"
__all__ = ["explain", "ExplainedReport", "__version__"]


def __getattr__(name: str):
    if name in ("explain", "ExplainedReport"):
        from reportgen import api

        return getattr(api, name)
    raise AttributeError(f"module 'reportgen' has no attribute {name!r}")
