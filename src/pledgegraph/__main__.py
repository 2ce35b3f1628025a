from pledgegraph.cli import run

run()
