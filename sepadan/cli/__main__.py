from sepadan.cli.core import main

main()
