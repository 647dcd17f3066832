"""What each CLI command does, as plain functions: testable without Click, reusable by each other."""
