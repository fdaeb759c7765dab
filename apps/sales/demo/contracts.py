"""Demo data of the sales app, contracts part (DESIGN §6)."""
