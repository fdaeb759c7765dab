"""Demo data of the sales app, deals part (DESIGN §6)."""
