"""Pages of the customers app (DESIGN §2 CRM). Thin: bind the form, check permission, one
service or selector call, render or redirect. Out of scope is 404; not allowed is 403."""
