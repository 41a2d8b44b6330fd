from reactivate.cli import main

main()
