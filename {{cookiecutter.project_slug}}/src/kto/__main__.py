from kto.cli import main

main()
