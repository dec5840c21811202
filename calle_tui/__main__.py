from calle_tui.cli import main

raise SystemExit(main())
