"""Renderers: terminal (rich), JSON (the contract), HTML (one self-contained file)."""
