"""Selectors of the sales app, leads part."""
