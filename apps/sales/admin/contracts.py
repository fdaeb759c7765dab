"""Admin of the sales app, contracts part."""
