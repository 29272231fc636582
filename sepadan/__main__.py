from sepadan.cli import main

main()
