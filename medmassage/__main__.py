from medmassage.cli import main

main()
