"""Talking to Tencent Cloud: credentials, TC3 signing, the HTTP client and its errors (no MCP)."""
