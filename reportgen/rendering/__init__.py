"""Rendering: a ready view model (colours, labels, numbers as text) fed to Jinja2 templates."""
