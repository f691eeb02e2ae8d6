from migrations.migrate import main

raise SystemExit(main())
