"""The stages a build runs, in order: read YAML, load and check records, build RDF, reason, validate."""
