"""Emergency notices and care advice: reading a question's clauses and matching them to signs."""
