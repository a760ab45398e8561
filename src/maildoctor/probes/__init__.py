"""Probes: async I/O that returns typed evidence, and the runner that bounds them."""
