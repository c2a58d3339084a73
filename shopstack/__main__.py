from shopstack.cli import main

raise SystemExit(main())
