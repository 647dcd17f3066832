"""Scanning: predict a whole dataset with both models, and pick the rows worth explaining.

layout.py says what a scan file is (its formats, rows and paths), reading.py reads one, records.py
writes one (append, resume, finalise), predict.py the batched forward
passes, selection.py the outcome counts and the choice of rows.
"""
