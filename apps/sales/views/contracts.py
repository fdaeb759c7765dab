"""Views of the sales app, contracts part."""
