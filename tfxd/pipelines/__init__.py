"""Spec → checked pipeline → ``tfx.dsl.Pipeline``."""
