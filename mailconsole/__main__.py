from mailconsole.cli import main

raise SystemExit(main())
