"""A local WeData (API 3.0) simulator: a real HTTP server that verifies TC3 signatures (no MCP)."""
