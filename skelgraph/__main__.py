from skelgraph.cli import main

main()
