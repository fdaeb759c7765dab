"""Views of the sales app, leads part."""
