"""The Streamable HTTP transport's edge: Host/Origin validation, bearer authentication, body limit."""
