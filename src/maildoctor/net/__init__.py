"""The only code that touches sockets and resolvers."""
