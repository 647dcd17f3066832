"""Scanning: predict a whole dataset with both models, and pick the rows worth explaining.

records.py holds the on-disk format (append, resume, finalise), predict.py the batched forward
passes, selection.py the outcome counts and the choice of rows.
"""
