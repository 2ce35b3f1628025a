from pledgegraph.cli import main

main()
