"""Selectors of the sales app, contracts part."""
