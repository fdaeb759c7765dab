"""Selectors of the sales app, deals part."""
