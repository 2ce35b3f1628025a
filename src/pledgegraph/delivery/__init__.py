"""What leaves a build: files, a static release, a SPARQL endpoint, a push to a triplestore."""
