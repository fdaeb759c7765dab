"""Views of the sales app, deals part."""
