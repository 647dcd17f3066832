"""Loading: turn what the user names on the command line (files, hub ids) into models and rows."""
