"""DriftValidator: compare a span's statistics with a baseline and gate the run on drift."""
