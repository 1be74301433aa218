from coldvault.cli.app import main

main()
