"""Services of the sales app, deals part."""
