"""One module per indicator; each defines NAME, CUTS and ``compute(conn, period_type)``."""
