"""`python -m wedata_mcp` is the `wedata-mcp` command."""

from wedata_mcp.cli import main

raise SystemExit(main())
