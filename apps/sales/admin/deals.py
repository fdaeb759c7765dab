"""Admin of the sales app, deals part."""
