"""wedata-mcp: find and safely rerun Tencent Cloud WeData schedule instances over MCP."""

__version__ = "0.1.0"
