"""Admin of the sales app, leads part."""
