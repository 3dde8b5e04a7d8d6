from pipesight.cli import main

raise SystemExit(main())
