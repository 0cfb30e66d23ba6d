from geoservice.cli.app import main

main()
