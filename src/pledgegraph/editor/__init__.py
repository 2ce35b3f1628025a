"""Curators' editor support: the JSON Schema for YAML extensions."""
