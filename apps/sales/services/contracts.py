"""Services of the sales app, contracts part."""
