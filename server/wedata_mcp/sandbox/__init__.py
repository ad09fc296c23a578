"""A local WeData (API 3.0) simulator: a real HTTP server that verifies TC3 signatures (no MCP).

Public API: `Sandbox` (app.py), `serve_in_thread` (server.py), `World` (world.py),
`expand_rerun` (expansion.py), `FaultKind` / `Sandbox.faults.inject` (faults.py), state codes (states.py).
"""
