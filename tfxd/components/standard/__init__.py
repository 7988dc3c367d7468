"""TFX's standard components as YAML types: their ``with:`` models and builders."""
