"""Selectors of the sales app: one module per area (leads, deals, contracts)."""
