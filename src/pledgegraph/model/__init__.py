"""The model: the YAML format (kinds, fields, types), dates, IRIs, vocabularies and time-true spans."""
