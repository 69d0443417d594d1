from composer.cli.entry import main

main()
