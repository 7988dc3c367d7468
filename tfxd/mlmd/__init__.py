"""Queries over ML Metadata: runs, lineage, models."""
