"""Services of the sales app, leads part."""
