"""The SPARQL endpoint: the local store, the worker pool, the HTTP server, search and reconciliation."""
