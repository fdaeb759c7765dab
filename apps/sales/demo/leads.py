"""Demo data of the sales app, leads part (DESIGN §6)."""
